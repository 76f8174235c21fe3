package httpapi

import (
	"net/url"
	"strconv"

	"oauth2-server.dev/ports"
)

const (
	// defaultListLimit is how many entries an admin API list answers
	// without a limit parameter, maxListLimit the most it answers.
	defaultListLimit = 100
	maxListLimit     = 1000
	// adminPageRows is how many clients or users the admin UI shows at once.
	adminPageRows = 50
)

// listPage reads the page an admin API list request asks for: limit (1 to
// maxListLimit, defaultListLimit when absent) entries after the key
// after. ok is false, with the problem, for a bad limit.
func listPage(q url.Values) (page ports.Page, problem string, ok bool) {
	page = ports.Page{After: q.Get("after"), Limit: defaultListLimit}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			return page, "limit must be a whole number from 1 to " + strconv.Itoa(maxListLimit), false
		}
		page.Limit = n
	}
	return page, "", true
}

// oneMore is page asking the store for one entry more than page wants, so
// that cut can tell whether another page follows.
func oneMore(page ports.Page) ports.Page {
	page.Limit++
	return page
}

// cut trims a list read with oneMore(page) to page's limit and returns the
// key to read the next page after, "" when this one is the last.
func cut[T any](list []T, page ports.Page, key func(T) string) ([]T, string) {
	if len(list) <= page.Limit {
		return list, ""
	}
	list = list[:page.Limit]
	return list, key(list[len(list)-1])
}
