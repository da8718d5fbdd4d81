package pickle

import "testing"

// Equal policies have one digest; a user's allowlist entry, its order or
// the explain switch give another.
func TestPolicyDigest(t *testing.T) {
	base := DefaultPolicy().Digest()
	if DefaultPolicy().Digest() != base {
		t.Fatal("two default policies differ")
	}
	a, err := DefaultPolicy().WithAllowed("mylib.Model", "other.*")
	if err != nil {
		t.Fatal(err)
	}
	b, err := DefaultPolicy().WithAllowed("other.*", "mylib.Model")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := DefaultPolicy().WithAllowed("mylib.Model", "other.*")
	seen := map[string]string{base: "default"}
	for name, d := range map[string]string{"allow": a.Digest(), "allow reordered": b.Digest(), "explain": DefaultPolicy().WithExplain().Digest()} {
		if other, ok := seen[d]; ok {
			t.Errorf("%s has the digest of %s", name, other)
		}
		seen[d] = name
	}
	if a2.Digest() != a.Digest() {
		t.Error("equal allowlists differ")
	}
}
