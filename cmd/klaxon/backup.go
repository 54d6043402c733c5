package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/klaxonhq/klaxon/internal/config"
	"github.com/klaxonhq/klaxon/store"
)

// backupHandler serves GET /admin/backup: a consistent copy of the bbolt
// file, streamed from one read transaction while the bot goes on. The copy
// holds every incident, private ones included, so the route exists only
// when http.admin_token is set, and the token is compared in constant time
// (hashes of equal length, so not even its length leaks).
func backupHandler(db *store.DB, token string, log *slog.Logger) http.Handler {
	want := sha256.Sum256([]byte("Bearer " + token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			log.Warn("refused a backup request without the admin token", "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Bearer realm="klaxon admin"`)
			http.Error(w, "unauthorized: send Authorization: Bearer <http.admin_token>", http.StatusUnauthorized)
			return
		}
		// A large file takes longer than the server's write timeout.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="klaxon.db"`)
		n, err := db.Backup(w, func(size int64) { w.Header().Set("Content-Length", strconv.FormatInt(size, 10)) })
		if err != nil {
			// The client sees a short body against Content-Length.
			log.Error("streaming a backup", "err", err, "bytes", n)
			return
		}
		log.Info("backup streamed", "bytes", n, "remote", r.RemoteAddr)
	})
}

// backup writes a consistent copy of the bbolt store to dst: directly when
// the bot is stopped, else streamed by the running bot from its
// /admin/backup route. The copy is written beside dst and renamed into
// place once complete and synced, then opened and checked.
func backup(ctx context.Context, cfg *config.Config, dst, url string, stdout io.Writer) error {
	if cfg.Store.Driver == config.DriverPostgres {
		return usageError{"klaxon backup copies the bbolt store; with driver postgres, back the database up with PostgreSQL's own tools (pg_dump, or your provider's snapshots)"}
	}
	if dst == "" {
		return usageError{"--to: want the file to write the copy to"}
	}
	if _, err := os.Stat(cfg.Store.Path); err != nil {
		return fmt.Errorf("store %s: %w", cfg.Store.Path, err)
	}
	// The copy is written beside dst: a missing directory is named as such,
	// not as the temporary file it stopped.
	if dir := filepath.Dir(dst); !isDir(dir) {
		return usageError{fmt.Sprintf("--to %s: the directory %s does not exist; create it first", dst, dir)}
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".partial-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // gone after the rename; left over on failure
	how := "directly (Klaxon is stopped)"
	db, err := store.Open(cfg.Store.Path, lockProbe)
	if errors.Is(err, store.ErrLocked) && !serving(cfg.HTTP) {
		// Held, and no Klaxon answers: wait as klaxon run would (see readStore).
		db, err = store.Open(cfg.Store.Path, cfg.Store.LockTimeout)
	}
	switch {
	case err == nil:
		_, err = db.Backup(tmp, nil)
		db.Close()
	case errors.Is(err, store.ErrLocked):
		how = "from the running Klaxon"
		err = fetchBackup(ctx, cfg.HTTP, url, tmp)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	// The copy must open as a store and pass bbolt's consistency check.
	copyDB, err := store.Open(dst, time.Second)
	if err != nil {
		return fmt.Errorf("the copy at %s does not open: %w", dst, err)
	}
	defer copyDB.Close()
	if err := copyDB.Check(); err != nil {
		return fmt.Errorf("the copy at %s is inconsistent: %w", dst, err)
	}
	incs, err := copyDB.List(ctx, nil)
	if err != nil {
		return err
	}
	st, _ := os.Stat(dst)
	fmt.Fprintf(stdout, "backed up %d incidents (%d bytes) %s to %s\n", len(incs), st.Size(), how, dst)
	return nil
}

// fetchBackup streams GET /admin/backup from the running bot into w.
func fetchBackup(ctx context.Context, h config.HTTP, url string, w io.Writer) error {
	if !h.AdminToken.IsSet() {
		return errors.New("the store is in use by a running Klaxon, and http.admin_token is not set, so it serves no backup: set http.admin_token and restart it, or stop it and run klaxon backup again")
	}
	if url == "" {
		if !h.Enabled() {
			return errors.New("the store is in use by a running Klaxon, and http.listen is off: pass --url")
		}
		host, port, err := net.SplitHostPort(h.Listen)
		if err != nil {
			return err
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
		url = "http://" + net.JoinHostPort(host, port) + "/admin/backup"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+h.AdminToken.Reveal())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("asking the running Klaxon for a backup: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("asking the running Klaxon for a backup at %s: %s", url, resp.Status)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return fmt.Errorf("receiving the backup: %w", err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fmt.Errorf("the backup stopped after %d of %d bytes", n, resp.ContentLength)
	}
	return nil
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
