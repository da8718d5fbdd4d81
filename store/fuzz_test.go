package store

import (
	"bytes"
	"encoding/binary"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// decodeAudit parses the canonical encoding back into its fields.
func decodeAudit(b []byte) ([]string, bool) {
	rest, ok := bytes.CutPrefix(b, []byte(auditDomain))
	if !ok {
		return nil, false
	}
	var fields []string
	for len(rest) > 0 {
		if len(rest) < 8 {
			return nil, false
		}
		n := binary.BigEndian.Uint64(rest)
		rest = rest[8:]
		if uint64(len(rest)) < n {
			return nil, false
		}
		fields = append(fields, string(rest[:n]))
		rest = rest[n:]
	}
	return fields, true
}

// FuzzAuditEncoding checks that the encoding hashed into the audit chain is
// unambiguous: it decodes back to exactly the record's fields, so two
// different records never encode alike (moving bytes from one field to the
// next changes the encoding).
func FuzzAuditEncoding(f *testing.F) {
	f.Add(int64(1), "alice", "team.create", "team/1", `{"name":"a"}`, "10.0.0.1:5")
	f.Add(int64(7), "a", "bteam", "", "{}", "")
	f.Fuzz(func(t *testing.T, seq int64, actor, action, object, detail, remote string) {
		r := AuditRecord{Seq: seq, At: time.Unix(1700000000, 123456000), Actor: actor, Action: action,
			Object: object, Detail: detail, Remote: remote, PrevHash: GenesisHash}
		got, ok := decodeAudit(r.encode())
		want := []string{strconv.FormatInt(seq, 10), fmtTime(r.At), actor, action, object, detail, remote, GenesisHash}
		if !ok || len(got) != len(want) {
			t.Fatalf("decoded %q, want %q", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("field %d: %q, want %q", i, got[i], want[i])
			}
		}
	})
}

// FuzzCheckFilePath checks that an accepted file path stays inside the
// model: relative, clean, no "..", no control characters, valid UTF-8.
func FuzzCheckFilePath(f *testing.F) {
	for _, p := range []string{".", "a", "a/b.bin", "../a", "/etc/passwd", "a/../b", "a//b", "a\x00", `a\..\b`, "..."} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if checkFilePath(p) != nil {
			return
		}
		if p == "." {
			return
		}
		if !utf8.ValidString(p) || strings.HasPrefix(p, "/") || path.Clean(p) != p || strings.ContainsAny(p, "\x00\n\r\\") {
			t.Fatalf("accepted %q", p)
		}
		for _, el := range strings.Split(p, "/") {
			if el == ".." || el == "." || el == "" {
				t.Fatalf("accepted %q", p)
			}
		}
	})
}
