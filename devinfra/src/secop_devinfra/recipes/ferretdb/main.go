// Command ferretdb runs FerretDB 1.24 (SQLite backend; PostgreSQL with -handler=postgresql, for
// comparison in the benchmarks) through its embeddable package.
//
// FerretDB's own cmd/ferretdb refuses to start when built outside its git tree (it needs a
// generated version.txt); the embeddable package has no such check, so the project builds this
// small wrapper with `go build` from the Go module proxy instead. Telemetry is disabled by the
// embeddable package itself.
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	sqlite := flag.String("sqlite-url", "file:data/", "SQLite backend directory URL (must end with /)")
	handler := flag.String("handler", "sqlite", "backend: sqlite or postgresql")
	postgres := flag.String("postgresql-url", "", "PostgreSQL URL (with -handler=postgresql)")
	level := flag.String("log-level", "warn", "debug, info, warn or error")
	flag.Parse()

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		log.Fatalf("bad -log-level: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Handler:       *handler,
		SQLiteURL:     *sqlite,
		PostgreSQLURL: *postgres,
		Logger:        logger,
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger.Info("ferretdb listening", "addr", *listen, "sqlite", *sqlite)
	if err := f.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
