package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"oauth2-server.dev/config"
	"oauth2-server.dev/core"
	"oauth2-server.dev/core/keyset"
	"oauth2-server.dev/ports"
	"oauth2-server.dev/server/internal/app"
)

const usage = `usage: oauth2-server <command> [flags]

commands:
  serve            run the server
  migrate [up]     apply pending database migrations
  migrate status   list migrations and whether each is applied
  keys list        list the signing keys
  keys rotate      start a signing key rotation: new keys are published now and sign
                   after the propagation delay; old keys stay published for the grace period
  clients list     list the registered clients
  users list       list the users (add them with the admin UI or POST /admin/api/users)

flags (every command):
  --dev            dev mode: embedded SQLite in ./data, issuer http://localhost:8080,
                   a demo user and demo clients printed at start
  --config FILE    YAML configuration file (also OAUTH2_CONFIG)

Configuration comes from OAUTH2_* environment variables; see README.md.
`

// processStart is when the process began, for the start-up time logged
// once the server listens.
var processStart = time.Now()

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "oauth2-server:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, rest := args[0], args[1:]
	var sub string
	if len(rest) > 0 && len(rest[0]) > 0 && rest[0][0] != '-' {
		sub, rest = rest[0], rest[1:]
	}
	command, ok := commands[cmd+" "+sub]
	if !ok {
		return fmt.Errorf("unknown command %q\n\n%s", strings.TrimSpace(cmd+" "+sub), usage)
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dev := fs.Bool("dev", false, "dev mode")
	file := fs.String("config", "", "YAML configuration file")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q\n\n%s", fs.Arg(0), usage)
	}
	cfg, err := config.Load(*file, *dev, os.Getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.Telemetry.LogLevel)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal starts a graceful shutdown, drain included; a
	// second one, with the default action restored, ends the process at
	// once for whoever does not want to wait.
	go func() {
		<-ctx.Done()
		stop()
	}()

	return command(ctx, cfg, log, stdout)
}

// commands maps "command sub-command" to its implementation.
var commands = map[string]func(ctx context.Context, cfg *config.Config, log *slog.Logger, stdout io.Writer) error{
	"serve ": serve,
	"migrate ": func(ctx context.Context, cfg *config.Config, _ *slog.Logger, out io.Writer) error {
		return migrate(ctx, cfg, out, false)
	},
	"migrate up": func(ctx context.Context, cfg *config.Config, _ *slog.Logger, out io.Writer) error {
		return migrate(ctx, cfg, out, false)
	},
	"migrate status": func(ctx context.Context, cfg *config.Config, _ *slog.Logger, out io.Writer) error {
		return migrate(ctx, cfg, out, true)
	},
	"keys list": func(ctx context.Context, cfg *config.Config, _ *slog.Logger, out io.Writer) error {
		return listKeys(ctx, cfg, out)
	},
	"keys rotate": func(ctx context.Context, cfg *config.Config, _ *slog.Logger, out io.Writer) error {
		return rotateKeys(ctx, cfg, out)
	},
	"clients list": func(ctx context.Context, cfg *config.Config, _ *slog.Logger, out io.Writer) error {
		return listClients(ctx, cfg, out)
	},
	"users list": func(ctx context.Context, cfg *config.Config, _ *slog.Logger, out io.Writer) error {
		return listUsers(ctx, cfg, out)
	},
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, stdout io.Writer) error {
	if cfg.Dev && cfg.Registration.Token == "" {
		cfg.Registration.Token = app.DevRegistrationToken()
	}
	if cfg.Dev && cfg.Admin.Token == "" {
		cfg.Admin.Token = app.DevRegistrationToken()
	}
	for _, w := range cfg.Warnings {
		log.Warn(w) // #nosec G706 -- the JSON handler escapes the text, which is the operator's own settings
	}
	a, err := app.New(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Seed(ctx, stdout); err != nil {
		return err
	}
	// Start-up work (key generation, hashing the seed password) leaves
	// garbage the size of several requests' worth of memory; hand it back
	// before serving rather than at the collector's leisure.
	debug.FreeOSMemory()
	ln, err := net.Listen("tcp", cfg.Server.Addr)
	if err != nil {
		return err
	}
	log.Info("listening", "addr", ln.Addr().String(), "issuer", cfg.Server.Issuer, "store", cfg.Store.RedactedURL(),
		"startup", time.Since(processStart).Round(time.Millisecond).String(),
		"tls", cfg.TLS.CertFile != "", "client_certificates", cfg.TLS.ClientCertificates())
	if a.HasTLSFiles() {
		reloadOnHangup(ctx, a, log)
	}
	return a.Serve(ctx, ln)
}

// reloadOnHangup reads the TLS files again whenever the process gets
// SIGHUP, as certificate renewal tools expect. The signal is caught from
// the moment it returns.
func reloadOnHangup(ctx context.Context, a *app.App, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := a.ReloadTLS(); err != nil {
					log.Error("TLS files not reloaded; the ones in use stay", "error", err)
					continue
				}
				log.Info("TLS files reloaded")
			}
		}
	}()
}

func migrate(ctx context.Context, cfg *config.Config, stdout io.Writer, statusOnly bool) error {
	st, err := app.OpenStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer st.Close()
	if !statusOnly {
		start := time.Now()
		if err := st.Migrate(ctx); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "migrations applied to %s in %s\n", cfg.Store.RedactedURL(), time.Since(start).Round(time.Millisecond))
	}
	states, err := st.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tNAME\tSTATE")
	for _, s := range states {
		state := "pending"
		if s.Applied {
			state = "applied " + s.AppliedAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", s.Version, s.Name, state)
	}
	return tw.Flush()
}

func listKeys(ctx context.Context, cfg *config.Config, stdout io.Writer) error {
	st, err := app.OpenStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := st.ListKeys(ctx, ports.DefaultTenant)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		fmt.Fprintln(stdout, "no signing keys yet: they are generated when the server first starts")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tCREATED\tSTATE")
	now := time.Now()
	for _, k := range keys {
		state := keyset.State(now, k.NotBefore, k.RetiredAt, k.ExpiresAt)
		switch state {
		case "pending":
			state = "published, signs from " + k.NotBefore.Format(time.RFC3339)
		case "active":
			if k.RetiredAt != nil {
				state = "active until " + k.RetiredAt.Format(time.RFC3339)
			}
		case "retired":
			if k.ExpiresAt != nil {
				state = "retired, published until " + k.ExpiresAt.Format(time.RFC3339)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, k.CreatedAt.Format(time.RFC3339), state)
	}
	return tw.Flush()
}

func rotateKeys(ctx context.Context, cfg *config.Config, stdout io.Writer) error {
	st, err := app.OpenStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := keyset.Load(ctx, st, ports.DefaultTenant, cfg.Keys.EncryptionKey, ports.SystemClock{})
	if err != nil {
		return err
	}
	// The key.rotated events go to the outbox with the keys; a running
	// server's relay delivers them, unless no sink is configured.
	app.DiscardUnrelayedEvents(cfg, st)
	rotated := func(k *keyset.Key) []ports.Event {
		return []ports.Event{{
			ID: ports.NewEventID(), Time: time.Now(), Type: ports.EventKeyRotated, Tenant: ports.DefaultTenant,
			Data: core.KeyRotatedData(k),
		}}
	}
	created, err := keys.Rotate(ctx, cfg.Keys.PropagationDelay, cfg.Keys.GracePeriod, rotated, keyset.Algorithms...)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NEW KID\tALG\tSIGNS FROM")
	for _, k := range created {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", k.ID, k.Algorithm, k.NotBefore.Format(time.RFC3339))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "replaced keys stay published until %s after that; running servers pick the change up within seconds\n", cfg.Keys.GracePeriod)
	return nil
}

func listClients(ctx context.Context, cfg *config.Config, stdout io.Writer) error {
	st, err := app.OpenStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer st.Close()
	clients, err := st.ListClients(ctx, ports.DefaultTenant, ports.Page{})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT_ID\tNAME\tAUTH\tGRANTS")
	for _, c := range clients {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", c.ID, c.Name, c.TokenEndpointAuth, c.GrantTypes)
	}
	if len(clients) == 0 {
		fmt.Fprintln(tw, "(none)")
	}
	return tw.Flush()
}

func listUsers(ctx context.Context, cfg *config.Config, stdout io.Writer) error {
	st, err := app.OpenStore(ctx, cfg, true)
	if err != nil {
		return err
	}
	defer st.Close()
	users, err := st.ListUsers(ctx, ports.DefaultTenant, ports.Page{})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSERNAME\tNAME\tEMAIL\tADDED")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.ID, u.Username, u.Name, u.Email, u.CreatedAt.UTC().Format(time.RFC3339))
	}
	if len(users) == 0 {
		fmt.Fprintln(tw, "(none)")
	}
	return tw.Flush()
}
