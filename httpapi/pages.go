package httpapi

import (
	"bytes"
	"html/template"
	"net/http"

	"oauth2-server.dev/templates"
)

func parsePages() (map[string]*template.Template, error) {
	pages := make(map[string]*template.Template, len(templates.Pages))
	for _, name := range templates.Pages {
		t, err := template.ParseFS(templates.FS, "html/layout.html", "html/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// render writes a page. It renders into a buffer first so a template error
// never leaves half a page behind.
func (h *handlers) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		h.log.ErrorContext(r.Context(), "render page", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type errorPageData struct {
	Title, Heading, Description, Code string
}

func (h *handlers) errorPage(w http.ResponseWriter, r *http.Request, status int, heading, description, code string) {
	h.render(w, r, status, "error", errorPageData{Title: heading, Heading: heading, Description: description, Code: code})
}
