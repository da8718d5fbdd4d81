package webui

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/violet-mlsecops/violet/internal/testutil"
	"github.com/violet-mlsecops/violet/store"
)

// TestSignersPage: a security engineer trusts a key (material that does
// not read as its kind is refused) and stops trusting it; a viewer sees
// the team's signers without forms and may not post; another team sees
// none of them and gets 404.
func TestSignersPage(t *testing.T) {
	w := newWorld(t)
	srv := w.server(t, Options{})
	team := fmt.Sprint(w.teamA.ID)
	_, pub := testutil.SigningKey(t)

	alice := loggedIn(t, srv, w.alice)
	tok := alice.csrf("/signers")
	if p := alice.get("/signers"); !strings.Contains(p.body, "verify jobs end incomplete") || !strings.Contains(p.body, "add-signer-"+team) {
		t.Fatalf("empty signers page: %s", p.body)
	}
	wantStatus(t, alice.post("/signers", url.Values{"csrf": {tok}, "team": {team}, "action": {"add"}, "name": {"release key " + xss},
		"kind": {"key"}, "material": {strings.ReplaceAll(pub, "\n", "\r\n")}}), http.StatusSeeOther)
	ss := must[[]store.TrustedSigner](t)(w.st.TrustedSigners(context.Background(), w.teamA.ID))
	if len(ss) != 1 || ss[0].Name != "release key "+xss || ss[0].Material != strings.TrimSpace(pub) || ss[0].CreatedBy != w.alice {
		t.Fatalf("signers %+v", ss)
	}
	if p := alice.get("/signers"); !strings.Contains(p.body, "release key &lt;script&gt;") || !strings.Contains(p.body, "BEGIN PUBLIC KEY") {
		t.Errorf("signers page: %s", p.body)
	}
	for name, form := range map[string]url.Values{
		"not a key":   {"name": {"x"}, "kind": {"key"}, "material": {"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}},
		"a name used": {"name": {"release key " + xss}, "kind": {"key"}, "material": {pub}},
		"a kind":      {"name": {"y"}, "kind": {"password"}, "material": {pub}},
	} {
		form.Set("csrf", tok)
		form.Set("team", team)
		form.Set("action", "add")
		if r := alice.post("/signers", form); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "Refused") {
			t.Errorf("%s: %d", name, r.StatusCode)
		}
	}

	bob := loggedIn(t, srv, w.bob)
	if p := bob.get("/signers"); strings.Contains(p.body, "add-signer-") || strings.Contains(p.body, "remove-signer-") ||
		!strings.Contains(p.body, "release key") {
		t.Errorf("viewer's signers page: %s", p.body)
	}
	wantStatus(t, bob.post("/signers", url.Values{"csrf": {bob.csrf("/signers")}, "team": {team}, "action": {"remove"},
		"signer": {fmt.Sprint(ss[0].ID)}}), http.StatusForbidden)
	carol := loggedIn(t, srv, w.carol)
	if p := carol.get("/signers"); strings.Contains(p.body, "release key") {
		t.Error("another team sees the signer")
	}
	wantStatus(t, carol.post("/signers", url.Values{"csrf": {carol.csrf("/signers")}, "team": {team}, "action": {"remove"},
		"signer": {fmt.Sprint(ss[0].ID)}}), http.StatusNotFound)

	wantStatus(t, alice.post("/signers", url.Values{"csrf": {tok}, "team": {team}, "action": {"remove"},
		"signer": {fmt.Sprint(ss[0].ID)}}), http.StatusSeeOther)
	if ss := must[[]store.TrustedSigner](t)(w.st.TrustedSigners(context.Background(), w.teamA.ID)); len(ss) != 0 {
		t.Errorf("after removal %+v", ss)
	}
}
