package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/violet-mlsecops/violet/store"
)

// AuditRecordJSON is one record of the audit log as GET /api/v1/audit
// returns it: every field the chain's hash covers, as the store holds it
// (At in store.AuditTimeLayout, 2006-01-02T15:04:05.000000Z), so that a
// client recomputes the chain with store.AuditRecord.ComputeHash.
type AuditRecordJSON struct {
	Seq      int64  `json:"seq"`
	At       string `json:"at"`
	Actor    string `json:"actor"`
	Action   string `json:"action"`
	Object   string `json:"object"`
	Detail   string `json:"detail"`
	Remote   string `json:"remote"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// AuditPageJSON is a page of the audit log: the records after the seq the
// client gave, in order, and NextAfter, the `after` of the next page,
// absent when the page reached the end of the log.
type AuditPageJSON struct {
	Items     []AuditRecordJSON `json:"items"`
	NextAfter *int64            `json:"next_after,omitempty"`
}

func toAuditRecord(r store.AuditRecord) AuditRecordJSON {
	return AuditRecordJSON{Seq: r.Seq, At: r.At.UTC().Format(store.AuditTimeLayout), Actor: r.Actor, Action: r.Action,
		Object: r.Object, Detail: r.Detail, Remote: r.Remote, PrevHash: r.PrevHash, Hash: r.Hash}
}

// auditLog serves GET /api/v1/audit?after=SEQ&limit=N: up to N records
// (1 to 500, default 100) after SEQ (default 0, the start). It pages by
// sequence number, not by offset, so that a client walks the whole chain
// in order while records are appended. The log is the
// whole server's: only the server's admins (adminOf "") read it.
func (s *Server) auditLog(c *call) error {
	if _, err := s.adminOf(c, ""); err != nil {
		return err
	}
	q, limit, err := pageQuery(c)
	if err != nil {
		return err
	}
	var after int64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return fail(http.StatusBadRequest, "invalid_parameter", "after %q: want a sequence number, 0 or more", clipText(v))
		}
		after = n
	}
	// One more than the page tells whether there is a next page.
	recs, err := s.st.AuditLog(c.ctx, after, limit+1, "")
	if err != nil {
		return err
	}
	page := AuditPageJSON{Items: make([]AuditRecordJSON, 0, min(len(recs), limit))}
	for i, r := range recs {
		if i == limit {
			next := recs[i-1].Seq
			page.NextAfter = &next
			break
		}
		page.Items = append(page.Items, toAuditRecord(r))
	}
	writeJSON(c.w, http.StatusOK, page)
	return nil
}

// auditPageSize is the page the client asks for: the worst record (a
// reason of 8 KiB, JSON-escaped) times it stays well under maxAuditAnswer.
const auditPageSize = 200

// maxAuditAnswer bounds what the client reads of one page.
const maxAuditAnswer = 32 << 20

// VerifyAudit reads the server's whole audit log over the API, page by
// page (the token must be an admin's of team AdminTeam), and checks its hash chain
// as store.VerifyAudit checks it in the database, with the same function
// (store.CheckAuditLink). It returns the head of an intact chain; an
// *store.AuditBreak naming the first broken record; an *APIError when the
// server refuses; any other error when the server's answer is not a page
// of the log. A server that leaves out the last records gives a shorter
// chain that verifies: compare the head with one kept elsewhere.
func (c *Client) VerifyAudit(ctx context.Context) (store.AuditHead, error) {
	head := store.AuditHead{Hash: store.GenesisHash}
	base, err := c.base()
	if err != nil {
		return head, err
	}
	for {
		page, err := c.auditPage(ctx, base, head.Seq)
		if err != nil {
			return head, err
		}
		if head, err = verifyAuditPage(head, page); err != nil {
			return head, err
		}
		if page.NextAfter == nil {
			return head, nil
		}
		if len(page.Items) == 0 || *page.NextAfter != head.Seq {
			return head, fmt.Errorf("the server's page of the audit log is inconsistent: %d records, next after seq %d, last seq %d",
				len(page.Items), *page.NextAfter, head.Seq)
		}
	}
}

// verifyAuditPage checks the records of a page, in order, against the
// head before them, and returns the head after them: an *store.AuditBreak
// at the first that is not the next link.
func verifyAuditPage(head store.AuditHead, page AuditPageJSON) (store.AuditHead, error) {
	for _, j := range page.Items {
		at, err := time.Parse(store.AuditTimeLayout, j.At)
		if err != nil || len(j.At) != len(store.AuditTimeLayout) {
			return head, &store.AuditBreak{Seq: head.Seq + 1,
				Reason: fmt.Sprintf("unreadable record: time %q is not in the store's format", clipText(j.At))}
		}
		r := store.AuditRecord{Seq: j.Seq, At: at, Actor: j.Actor, Action: j.Action, Object: j.Object,
			Detail: j.Detail, Remote: j.Remote, PrevHash: j.PrevHash, Hash: j.Hash}
		if b := store.CheckAuditLink(head, r); b != nil {
			return head, b
		}
		head = store.AuditHead{Seq: r.Seq, Hash: r.Hash}
	}
	return head, nil
}

// decodeAuditPage decodes a page of the audit log; an answer without
// "items" is none.
func decodeAuditPage(data []byte) (AuditPageJSON, error) {
	var page AuditPageJSON
	if err := json.Unmarshal(data, &page); err != nil || page.Items == nil {
		return AuditPageJSON{}, fmt.Errorf("audit log: the server's answer is not a page of the audit log (%.100q): %v", data, err)
	}
	return page, nil
}

// auditPage fetches the page of the audit log after seq after.
func (c *Client) auditPage(ctx context.Context, base *url.URL, after int64) (AuditPageJSON, error) {
	q := url.Values{"after": {strconv.FormatInt(after, 10)}, "limit": {strconv.Itoa(auditPageSize)}}
	_, data, err := c.doLimited(ctx, base, http.MethodGet, "/api/v1/audit", q, nil, maxAuditAnswer)
	if err != nil {
		return AuditPageJSON{}, err
	}
	return decodeAuditPage(data)
}
