package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"oauth2-server.dev/config"
	"oauth2-server.dev/server/internal/app"
)

// The deployment files are checked here without a container engine or a
// cluster: they must name only files, variables, routes and metrics that
// exist.

const repoRoot = "../../.."

func readRepoFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// yamlDocs decodes every document of a YAML file.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(readRepoFile(t, path)))
	var docs []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		docs = append(docs, d)
	}
}

// dig walks nested maps and lists by key or index-free path.
func dig(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// readmeVariables are the OAUTH2_* variables of the README's
// configuration table, which config_test proves are read.
func readmeVariables(t *testing.T) map[string]bool {
	t.Helper()
	vars := map[string]bool{}
	row := regexp.MustCompile("^\\| `(OAUTH2_[A-Z0-9_]+)`(?:, `(OAUTH2_[A-Z0-9_]+)`)?")
	sc := bufio.NewScanner(strings.NewReader(readRepoFile(t, "README.md")))
	for sc.Scan() {
		if m := row.FindStringSubmatch(sc.Text()); m != nil {
			for _, v := range m[1:] {
				if v != "" {
					vars[v] = true
				}
			}
		}
	}
	return vars
}

func TestDockerfile(t *testing.T) {
	dockerfile := readRepoFile(t, "Dockerfile")
	copied := map[string]bool{}
	for _, line := range strings.Split(dockerfile, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "COPY" || strings.HasPrefix(f[1], "--") {
			continue
		}
		for _, src := range f[1 : len(f)-1] {
			copied[src] = true
			if _, err := os.Stat(filepath.Join(repoRoot, src)); err != nil {
				t.Errorf("the Dockerfile copies %s, which does not exist", src)
			}
		}
	}
	for _, line := range strings.Split(readRepoFile(t, "go.work"), "\n") {
		mod := strings.TrimSpace(line)
		if !strings.HasPrefix(mod, "./") {
			continue
		}
		if gomod := strings.TrimPrefix(mod, "./") + "/go.mod"; !copied[gomod] {
			t.Errorf("the Dockerfile does not copy %s before downloading modules", gomod)
		}
	}
	// /data must belong to the user the server runs as (distroless nonroot,
	// 65532), or an embedded SQLite database there cannot be written.
	for _, want := range []string{"CGO_ENABLED=0 go build", "./server/cmd/oauth2-server", "USER nonroot", `CMD ["serve"]`, "EXPOSE 8080",
		"--chown=65532:65532 /out/data /data", "VOLUME /data"} {
		if !strings.Contains(dockerfile, want) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}
}

func TestComposeFile(t *testing.T) {
	docs := yamlDocs(t, "docker-compose.yml")
	env, _ := dig(docs[0], "services", "oauth2-server", "environment").(map[string]any)
	if len(env) == 0 {
		t.Fatal("the compose file sets no environment for oauth2-server")
	}
	known := readmeVariables(t)
	for k := range env {
		if !known[k] {
			t.Errorf("docker-compose.yml sets %s, which the README does not document", k)
		}
	}
	for _, dep := range []string{"postgres", "redis"} {
		if dig(docs[0], "services", dep) == nil {
			t.Errorf("oauth2-server depends on %s, which the compose file does not define", dep)
		}
	}
	// docker compose stop sends SIGTERM and kills after stop_grace_period,
	// 10s unless set.
	grace := 10 * time.Second
	if s, ok := dig(docs[0], "services", "oauth2-server", "stop_grace_period").(string); ok {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("stop_grace_period %q: %v", s, err)
		}
		grace = d
	}
	if need := config.DefaultShutdownDrain + app.ShutdownTimeout; grace <= need {
		t.Errorf("stop_grace_period is %v; the drain and the shutdown take up to %v", grace, need)
	}
}

func TestKubernetesManifests(t *testing.T) {
	known := readmeVariables(t)
	byKind := map[string]map[string]any{}
	var files []string
	var walk func(dir string)
	walk = func(dir string) {
		k := yamlDocs(t, dir+"/kustomization.yaml")[0]
		for _, list := range []string{"resources", "patches"} {
			items, _ := k[list].([]any)
			for _, it := range items {
				path, _ := it.(string)
				if m, ok := it.(map[string]any); ok {
					path, _ = m["path"].(string)
				}
				full := filepath.Clean(dir + "/" + path)
				if st, err := os.Stat(filepath.Join(repoRoot, full)); err != nil {
					t.Errorf("%s/kustomization.yaml lists %s, which does not exist", dir, path)
				} else if st.IsDir() {
					walk(full)
				} else {
					files = append(files, full)
				}
			}
		}
	}
	walk("k8s/overlays/production")
	for _, f := range files {
		for _, d := range yamlDocs(t, f) {
			kind, _ := d["kind"].(string)
			if d["apiVersion"] == nil || kind == "" || dig(d, "metadata", "name") == nil {
				t.Errorf("%s: a document without apiVersion, kind or name", f)
				continue
			}
			if kind == "ConfigMap" {
				data, _ := d["data"].(map[string]any)
				for k := range data {
					if !known[k] {
						t.Errorf("%s sets %s, which the README does not document", f, k)
					}
				}
				if byKind[kind] != nil && !strings.Contains(f, "overlays") {
					t.Errorf("two ConfigMaps in the base")
				}
				if !strings.Contains(f, "overlays") {
					byKind[kind] = d
				}
				continue
			}
			byKind[kind] = d
		}
	}
	dep := byKind["Deployment"]
	if dep == nil {
		t.Fatal("no Deployment")
	}
	labels, _ := dig(dep, "spec", "template", "metadata", "labels").(map[string]any)
	selects := func(what string, sel any) {
		m, _ := sel.(map[string]any)
		if len(m) == 0 {
			t.Errorf("%s has no selector", what)
		}
		for k, v := range m {
			if labels[k] != v {
				t.Errorf("%s selects %s=%v, which the pods do not carry", what, k, v)
			}
		}
	}
	selects("the Deployment", dig(dep, "spec", "selector", "matchLabels"))
	selects("the Service", dig(byKind["Service"], "spec", "selector"))
	selects("the PodDisruptionBudget", dig(byKind["PodDisruptionBudget"], "spec", "selector", "matchLabels"))

	_, port, err := net.SplitHostPort(dig(byKind["ConfigMap"], "data", "OAUTH2_ADDR").(string))
	if err != nil {
		t.Fatalf("OAUTH2_ADDR in the ConfigMap: %v", err)
	}
	if got := dig(dep, "spec", "template", "metadata", "annotations", "prometheus.io/port"); got != port {
		t.Errorf("Prometheus scrapes port %v, the server listens on %s", got, port)
	}
	containers, _ := dig(dep, "spec", "template", "spec", "containers").([]any)
	inits, _ := dig(dep, "spec", "template", "spec", "initContainers").([]any)
	for _, c := range append(containers, inits...) {
		args, _ := dig(c, "args").([]any)
		if len(args) == 0 || !slices.Contains([]any{"serve", "migrate"}, args[0]) {
			t.Errorf("container %v runs %v, not a command of the server", dig(c, "name"), args)
		}
		if dig(c, "securityContext", "readOnlyRootFilesystem") != true || dig(c, "securityContext", "allowPrivilegeEscalation") != false {
			t.Errorf("container %v may write its root file system or escalate", dig(c, "name"))
		}
	}
	server := containers[0]
	ports, _ := dig(server, "ports").([]any)
	if len(ports) != 1 || dig(ports[0], "containerPort") != 8080 || port != "8080" {
		t.Errorf("container ports %v do not match OAUTH2_ADDR's port %s", ports, port)
	}
	for probe, path := range map[string]string{"readinessProbe": "/ready", "livenessProbe": "/health", "startupProbe": "/health"} {
		if got := dig(server, probe, "httpGet", "path"); got != path {
			t.Errorf("%s asks %v, want %s", probe, got, path)
		}
	}
	env := map[string]string{}
	for k, v := range dig(byKind["ConfigMap"], "data").(map[string]any) {
		env[k] = v.(string)
	}
	// The keys README.md's "Kubernetes" section puts in the Secret.
	for k, v := range kubernetesSecretExample {
		env[k] = v
	}
	cfg, err := config.Load("", false, func(k string) string { return env[k] })
	t.Run("the ConfigMap with the Secret's keys is a valid configuration", func(t *testing.T) {
		if err != nil {
			t.Fatal(err)
		}
		readme := readRepoFile(t, "README.md")
		for k := range kubernetesSecretExample {
			if !strings.Contains(readme, "--from-literal="+k+"=") {
				t.Errorf("README.md does not show %s in the Secret", k)
			}
		}
	})
	// A pod being stopped answers /ready with 503 for the drain while it
	// still serves, then closes its listener and has ShutdownTimeout for
	// what is in flight: the probe must see the 503 before the listener
	// closes, and the kubelet must not kill the pod before it is done.
	t.Run("a stopping pod leaves the endpoints before it stops serving", func(t *testing.T) {
		if cfg == nil {
			t.Skip("the configuration does not load")
		}
		probe := dig(server, "readinessProbe")
		noticed := time.Duration(number(dig(probe, "periodSeconds"), 10)*number(dig(probe, "failureThreshold"), 3)) * time.Second
		if noticed > cfg.Server.ShutdownDrain {
			t.Errorf("the readiness probe needs up to %v to see a stopping pod, longer than OAUTH2_SHUTDOWN_DRAIN (%v)", noticed, cfg.Server.ShutdownDrain)
		}
		grace := time.Duration(number(dig(dep, "spec", "template", "spec", "terminationGracePeriodSeconds"), 30)) * time.Second
		if need := cfg.Server.ShutdownDrain + app.ShutdownTimeout; grace <= need {
			t.Errorf("terminationGracePeriodSeconds is %v; the drain and the shutdown take up to %v", grace, need)
		}
	})
}

// number reads a whole number of a manifest, with Kubernetes's default
// when the manifest leaves it out.
func number(v any, def int) int {
	if n, ok := v.(int); ok {
		return n
	}
	return def
}

var kubernetesSecretExample = map[string]string{
	"OAUTH2_DATABASE_URL":       "postgres://oauth2:secret@postgres.identity:5432/oauth2",
	"OAUTH2_REDIS_URL":          "redis://redis.identity:6379/0",
	"OAUTH2_KEY_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	"OAUTH2_REGISTRATION_TOKEN": "registration-token-0123456789abcdef",
	"OAUTH2_ADMIN_TOKEN":        "admin-token-0123456789abcdef0123",
}

func TestAlertRules(t *testing.T) {
	readme := readRepoFile(t, "README.md")
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(oauth2_[a-z_]+)`").FindAllStringSubmatch(readme, -1) {
		documented[m[1]] = true
	}
	groups, _ := yamlDocs(t, "deploy/prometheus/alerts.yml")[0]["groups"].([]any)
	n := 0
	for _, g := range groups {
		rules, _ := dig(g, "rules").([]any)
		for _, r := range rules {
			n++
			expr, _ := dig(r, "expr").(string)
			if dig(r, "alert") == nil || expr == "" || dig(r, "annotations", "summary") == nil {
				t.Errorf("rule %v lacks alert, expr or summary", r)
			}
			for _, m := range regexp.MustCompile(`oauth2_[a-z_]+`).FindAllString(expr, -1) {
				name := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
				if !documented[name] {
					t.Errorf("alert %v uses %s, which the README's metrics table does not list", dig(r, "alert"), m)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no alert rules")
	}
}
