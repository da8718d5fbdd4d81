// Package pgtest gives tests a fresh PostgreSQL database of their own on the
// server named by VIOLET_TEST_POSTGRES (scripts/pg-test.sh starts a
// throwaway one and sets it).
//
// Without that variable a test that needs PostgreSQL is skipped, except in
// CI (CI=true), where it fails: a CI run that silently skipped the
// PostgreSQL tests would pass what it never tested.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	// The pgx driver for database/sql, registered as "pgx".
	_ "github.com/jackc/pgx/v5/stdlib"
)

// EnvURL is the variable that holds the URL of the test server: a role
// allowed to create databases, and a database to connect to for that.
const EnvURL = "VIOLET_TEST_POSTGRES"

// URL returns the URL of a new, empty database on the test server, dropped
// when the test ends. It skips the test when no server is configured, or
// fails it when CI=true.
func URL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvURL)
	if admin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set and CI=true: run the tests under scripts/pg-test.sh", EnvURL)
		}
		t.Skipf("%s is not set: run under scripts/pg-test.sh to include the PostgreSQL tests", EnvURL)
	}
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s is not a postgres:// URL", EnvURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer db.Close()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := "violet_test_" + hex.EncodeToString(b)
	// The name is ours (hex), so it needs no quoting beyond the identifier.
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db, err := sql.Open("pgx", admin)
		if err != nil {
			t.Errorf("pgtest: %v", err)
			return
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
