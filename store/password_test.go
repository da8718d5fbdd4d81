package store

import "testing"

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := VerifyPassword(h, "correct horse"); !ok || err != nil {
		t.Fatalf("verify the right password: %v %v", ok, err)
	}
	if ok, err := VerifyPassword(h, "correct horsf"); ok || err != nil {
		t.Fatalf("verify a wrong password: %v %v", ok, err)
	}
	// Hashes of another tool in the same form verify (RFC 9106 test
	// parameters are out of our bounds, so use the argon2 CLI's form).
	p, err := parsePHC(h)
	if err != nil || p.String() != h {
		t.Fatalf("parse/format round trip: %v %q", err, p.String())
	}
	salt := "c29tZXNhbHRzb21lc2FsdA" // 16 bytes
	key := "AAAAAAAAAAAAAAAAAAAAAA"  // 16 bytes
	for _, bad := range []string{
		"", "plain", "$argon2i$v=19$m=65536,t=3,p=4$" + salt + "$" + key,
		"$argon2id$v=16$m=65536,t=3,p=4$" + salt + "$" + key,
		"$argon2id$v=19$m=4294967295,t=3,p=4$" + salt + "$" + key, // 4 TiB
		"$argon2id$v=19$m=65536,t=1000000,p=4$" + salt + "$" + key,
		"$argon2id$v=19$m=65536,t=3,p=255$" + salt + "$" + key,
		"$argon2id$v=19$m=65536,t=0,p=4$" + salt + "$" + key,
		"$argon2id$v=19$m=65536,t=3,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=8,t=3,p=4$" + salt + "$" + key,
		"$argon2id$v=19$t=3,m=65536,p=4$" + salt + "$" + key,
		"$argon2id$v=19$m=65536,t=3,p=4$$" + key,
		"$argon2id$v=19$m=65536,t=3,p=4$" + salt + "$",
		"$argon2id$v=19$m=65536,t=3,p=4$" + salt + "=$" + key,
		"$argon2id$v=19$m=65536,t=3,p=4$" + salt + "$" + key + "$",
		"$argon2id$v=19$m=+65536,t=3,p=4$" + salt + "$" + key,
	} {
		if _, err := parsePHC(bad); err == nil {
			t.Errorf("parsePHC(%q) accepted", bad)
		}
		if ok, err := VerifyPassword(bad, "x"); ok || err == nil {
			t.Errorf("VerifyPassword(%q): %v %v", bad, ok, err)
		}
	}
}

func FuzzParsePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=1,t=1,p=1$$")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePHC(s)
		if err != nil {
			return
		}
		if p.memory > maxArgonMemory || p.time > maxArgonTime || p.threads > maxArgonThreads || p.keyLen > maxArgonKeyLen {
			t.Fatalf("%q: parameters out of bounds accepted: %+v", s, p)
		}
		if q, err := parsePHC(p.String()); err != nil || q.String() != p.String() {
			t.Fatalf("%q: no round trip: %v", s, err)
		}
	})
}
