// Package template checks Jinja chat templates (tokenizer_config.json,
// chat_template.json, chat_template.jinja, and the templates GGUF files
// carry) for server-side template injection: the template is lexed and
// parsed into a syntax tree with a Jinja parser of our own, and the tree is
// checked for the attributes, names and helpers through which a template
// reaches Python internals. Every branch is checked, whether or not it would
// render; nothing is ever rendered or executed.
package template

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/violet-mlsecops/violet/analyzer"
	"github.com/violet-mlsecops/violet/finding"
)

// maxJSON bounds how much of a tokenizer_config.json is read (its added
// tokens make it megabytes).
const maxJSON = 64 << 20

// Analyzer is the chat-template analyzer.
type Analyzer struct{}

// AnalyzerName is the analyzer's name (violet scan --analyzers, the report's
// tool.analyzers); Name is a kind of node.
const AnalyzerName = "chat-template"

// Name is AnalyzerName.
func (Analyzer) Name() string { return AnalyzerName }

// Version returns the analyzer's version.
func (Analyzer) Version() string { return "1" }

func isJSONName(name string) bool {
	n := strings.ToLower(path.Base(name))
	return n == "tokenizer_config.json" || n == "chat_template.json"
}

func isJinjaName(name string) bool {
	n := strings.ToLower(path.Base(name))
	return strings.HasSuffix(n, ".jinja") || strings.HasSuffix(n, ".jinja2") || strings.HasSuffix(n, ".j2")
}

// Sniff claims JSON objects named tokenizer_config.json or
// chat_template.json, or holding a "chat_template" key in their head, and
// Jinja files (by name: text has no magic) with a tag in their head.
func (Analyzer) Sniff(in *analyzer.Input) bool {
	head := bytes.TrimLeft(in.Head, " \t\r\n\ufeff")
	if len(head) > 0 && head[0] == '{' && (isJSONName(in.Name) || bytes.Contains(in.Head, []byte(`"chat_template"`))) {
		return true
	}
	return isJinjaName(in.Name) && (bytes.Contains(in.Head, []byte("{{")) || bytes.Contains(in.Head, []byte("{%")))
}

// Analyze extracts the templates of in and checks each one.
func (a Analyzer) Analyze(ctx context.Context, in *analyzer.Input, out analyzer.Output) error {
	rc, err := in.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	limit := int64(MaxSize)
	head := bytes.TrimLeft(in.Head, " \t\r\n\ufeff")
	isJSON := len(head) > 0 && head[0] == '{' && !isJinjaName(in.Name)
	if isJSON {
		limit = maxJSON
	}
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return err
	}
	r := analyzer.Reporter{Out: out, In: in}
	if int64(len(data)) > limit {
		r.Report(finding.FormatMalformed, -1, fmt.Sprintf("the file is larger than %d bytes and was not analyzed", limit), "")
		return nil
	}
	if !isJSON {
		out.Format("jinja")
		a.check(r, "", string(bytes.TrimPrefix(data, []byte("\ufeff"))), true)
		return nil
	}
	var doc struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
	}
	if err := json.Unmarshal(bytes.TrimPrefix(data, []byte("\ufeff")), &doc); err != nil {
		if isJSONName(in.Name) || bytes.Contains(in.Head, []byte(`"chat_template"`)) {
			r.Report(finding.FormatMalformed, -1, "the JSON file does not parse: "+err.Error(), "")
		}
		return nil
	}
	if len(doc.ChatTemplate) == 0 || string(doc.ChatTemplate) == "null" {
		return nil
	}
	out.Format("chat-template-json")
	var one string
	if err := json.Unmarshal(doc.ChatTemplate, &one); err == nil {
		a.check(r, "chat_template", one, false)
		return nil
	}
	var many []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(doc.ChatTemplate, &many); err != nil {
		r.Report(finding.FormatMalformed, -1, "chat_template is neither a string nor a list of named templates", "")
		return nil
	}
	for _, t := range many {
		if err := ctx.Err(); err != nil {
			return err
		}
		a.check(r, "chat_template "+t.Name, t.Template, false)
	}
	return nil
}

// check checks one template and reports its issues. Offsets are those of
// the template source when it is the whole file, else -1.
func (Analyzer) check(r analyzer.Reporter, label, src string, whole bool) {
	issues, err := CheckTemplate(src)
	prefix := ""
	if label != "" {
		prefix = label + ": "
	}
	if err != nil {
		r.Report(finding.FormatMalformed, -1, prefix+"the chat template does not parse: "+err.Error(), "")
		return
	}
	for _, is := range issues {
		off := int64(-1)
		if whole {
			off = int64(is.Offset)
		}
		r.Report(is.Kind.Rule(), off, prefix+"the chat template "+is.Message, is.Evidence)
	}
}

var _ analyzer.Analyzer = Analyzer{}
