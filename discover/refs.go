package discover

import (
	"regexp"
	"sort"
	"strings"

	"github.com/violet-mlsecops/violet/internal/pysrc"
)

// callRule says where a call names a model: which positional arguments and
// keywords, and what they accept.
type callRule struct {
	positions []int
	keywords  []string
	policy    idPolicy
	role      string
}

var (
	hubLoad   = idPolicy{hub: true, legacy: true, local: true}
	hubOnly   = idPolicy{hub: true}
	stLoad    = idPolicy{hub: true, st: true, local: true}
	hosted    = idPolicy{}
	ollamaIDs = idPolicy{forced: ProviderOllama}
)

// Roles of a reference.
const (
	roleLoad = "load"
	rolePush = "push"
)

// callRules are keyed by the called name, or by "Qualifier.name" for a
// method whose qualifier changes the arguments. Hosted-model calls accept
// only known model names (providerModels).
var callRules = map[string]callRule{
	"from_pretrained":                   {[]int{0}, []string{"pretrained_model_name_or_path", "model_id", "model_name", "repo_id"}, hubLoad, roleLoad},
	"PeftModel.from_pretrained":         {[]int{1}, []string{"model_id"}, hubLoad, roleLoad},
	"from_model_id":                     {[]int{0}, []string{"model_id"}, hubLoad, roleLoad},
	"hf_hub_download":                   {[]int{0}, []string{"repo_id"}, hubOnly, roleLoad},
	"snapshot_download":                 {[]int{0}, []string{"repo_id"}, hubOnly, roleLoad},
	"push_to_hub":                       {[]int{0}, []string{"repo_id"}, hubOnly, rolePush},
	"create_repo":                       {[]int{0}, []string{"repo_id"}, hubOnly, rolePush},
	"upload_folder":                     {nil, []string{"repo_id"}, hubOnly, rolePush},
	"pipeline":                          {[]int{1}, []string{"model"}, hubLoad, roleLoad},
	"SentenceTransformer":               {[]int{0}, []string{"model_name_or_path"}, stLoad, roleLoad},
	"CrossEncoder":                      {[]int{0}, []string{"model_name", "model_name_or_path"}, stLoad, roleLoad},
	"HuggingFaceHub":                    {nil, []string{"repo_id"}, hubOnly, roleLoad},
	"HuggingFaceEndpoint":               {nil, []string{"repo_id"}, hubOnly, roleLoad},
	"HuggingFaceEmbeddings":             {nil, []string{"model_name"}, stLoad, roleLoad},
	"HuggingFaceEmbedding":              {nil, []string{"model_name"}, stLoad, roleLoad},
	"HuggingFaceInferenceAPI":           {nil, []string{"model_name"}, hubOnly, roleLoad},
	"HuggingFaceLLM":                    {nil, []string{"model_name", "tokenizer_name"}, hubLoad, roleLoad},
	"InferenceClient":                   {[]int{0}, []string{"model"}, hubOnly, roleLoad},
	"LLM":                               {[]int{0}, []string{"model"}, hubLoad, roleLoad},
	"EngineArgs":                        {nil, []string{"model"}, hubLoad, roleLoad},
	"AsyncEngineArgs":                   {nil, []string{"model"}, hubLoad, roleLoad},
	"Llama":                             {nil, []string{"model_path"}, idPolicy{local: true}, roleLoad},
	"ChatOpenAI":                        {nil, []string{"model", "model_name"}, hosted, roleLoad},
	"AzureChatOpenAI":                   {nil, []string{"model", "model_name"}, hosted, roleLoad},
	"OpenAI":                            {nil, []string{"model", "model_name"}, hosted, roleLoad},
	"OpenAIEmbeddings":                  {nil, []string{"model"}, hosted, roleLoad},
	"OpenAIEmbedding":                   {nil, []string{"model"}, hosted, roleLoad},
	"ChatAnthropic":                     {nil, []string{"model", "model_name"}, hosted, roleLoad},
	"Anthropic":                         {nil, []string{"model"}, hosted, roleLoad},
	"ChatGoogleGenerativeAI":            {nil, []string{"model"}, hosted, roleLoad},
	"GenerativeModel":                   {[]int{0}, []string{"model_name"}, hosted, roleLoad},
	"init_chat_model":                   {[]int{0}, []string{"model"}, hosted, roleLoad},
	"OllamaLLM":                         {nil, []string{"model"}, ollamaIDs, roleLoad},
	"Ollama":                            {nil, []string{"model"}, ollamaIDs, roleLoad},
	"ChatOllama":                        {nil, []string{"model"}, ollamaIDs, roleLoad},
	"OllamaEmbeddings":                  {nil, []string{"model"}, ollamaIDs, roleLoad},
	"ollama.chat":                       {nil, []string{"model"}, ollamaIDs, roleLoad},
	"ollama.generate":                   {nil, []string{"model"}, ollamaIDs, roleLoad},
	"ollama.pull":                       {[]int{0}, []string{"model"}, ollamaIDs, roleLoad},
	"FastLanguageModel.from_pretrained": {[]int{0}, []string{"model_name"}, hubLoad, roleLoad},
}

// genericKeys are keyword arguments, dictionary keys, variables and
// configuration keys that name a model in any call or file. They accept
// hub ids and hosted model names, never bare words or paths.
var genericKeys = map[string]string{
	"model": roleLoad, "model_name": roleLoad, "model_id": roleLoad, "base_model": roleLoad, "model_name_or_path": roleLoad,
	"pretrained_model_name_or_path": roleLoad, "base_model_name_or_path": roleLoad, "repo_id": roleLoad,
	"tokenizer_name": roleLoad, "tokenizer_name_or_path": roleLoad, "base_model_id": roleLoad, "model_repo": roleLoad,
	"hub_model_id": rolePush, "checkpoint": roleLoad, "model_checkpoint": roleLoad, "teacher_model": roleLoad,
	"reward_model": roleLoad, "ref_model": roleLoad, "embedding_model": roleLoad, "llm_model": roleLoad,
	"chat_model": roleLoad, "_name_or_path": roleLoad, "model_type_or_path": roleLoad,
}

// genericPolicy accepts hub ids and hosted names.
var genericPolicy = idPolicy{hub: true}

// keyRole returns the role of a variable or key that names a model
// ("MODEL_ID", "base_model"), matched case-insensitively.
func keyRole(name string) (string, bool) {
	r, ok := genericKeys[strings.ToLower(name)]
	return r, ok
}

// refCollector gathers references without duplicates.
type refCollector struct {
	refs []Reference
	seen map[Reference]bool
	cell int
}

func (c *refCollector) add(line int, model, provider, via, role string) {
	r := Reference{Line: line, Cell: c.cell, Model: model, Provider: provider, Via: via, Role: role}
	if c.seen == nil {
		c.seen = map[Reference]bool{}
	}
	if !c.seen[r] {
		c.seen[r] = true
		c.refs = append(c.refs, r)
	}
}

func (c *refCollector) sorted() []Reference {
	sort.SliceStable(c.refs, func(i, j int) bool {
		a, b := c.refs[i], c.refs[j]
		if a.Cell != b.Cell {
			return a.Cell < b.Cell
		}
		return a.Line < b.Line
	})
	return c.refs
}

// maxCallTokens bounds how far the arguments of one call are read.
const maxCallTokens = 4096

// pythonRefs finds the models named in Python source.
func pythonRefs(src []byte, c *refCollector) {
	toks, _ := pysrc.Tokenize(src) // what could not be read names no model
	for i, t := range toks {
		switch t.Kind {
		case pysrc.Name:
			if i+1 < len(toks) && toks[i+1].Is("(") {
				pythonCall(toks, i, c)
			}
			if i+2 < len(toks) && toks[i+1].Is("=") && toks[i+2].Str() && statementStart(toks, i) && valueEnds(toks, i+2) {
				if role, ok := keyRole(t.Text); ok {
					if id, prov, ok := classifyID(toks[i+2].Text, genericPolicy); ok {
						c.add(toks[i+2].Line, id, prov, t.Text, role)
					}
				}
			}
		case pysrc.String:
			// A dictionary entry: "model": "gpt-4o".
			if i+2 < len(toks) && toks[i+1].Is(":") && toks[i+2].Str() && valueEnds(toks, i+2) {
				if role, ok := keyRole(t.Text); ok {
					if id, prov, ok := classifyID(toks[i+2].Text, genericPolicy); ok {
						c.add(toks[i+2].Line, id, prov, t.Text, role)
					}
				}
			}
		}
	}
}

// statementStart reports whether the name at i starts a statement (an
// assignment, not a keyword argument).
func statementStart(toks []pysrc.Token, i int) bool {
	return i == 0 || toks[i-1].Kind == pysrc.Newline || toks[i-1].Is(";")
}

// valueEnds reports whether the string at i is a whole value: not the
// start of an expression ("a" + b, "a".format(), "a" "b").
func valueEnds(toks []pysrc.Token, i int) bool {
	if i+1 >= len(toks) {
		return true
	}
	n := toks[i+1]
	return n.Kind == pysrc.Newline || n.Kind == pysrc.Op && len(n.Text) == 1 && strings.Contains(",)}];", n.Text)
}

// pythonCall reads the arguments of the call whose name is at i.
func pythonCall(toks []pysrc.Token, i int, c *refCollector) {
	name := toks[i].Text
	rule, ok := callRule{}, false
	if i >= 2 && toks[i-1].Is(".") && toks[i-2].Kind == pysrc.Name {
		rule, ok = callRules[toks[i-2].Text+"."+name]
	}
	if !ok {
		rule, ok = callRules[name]
	}
	pos, depth, start := 0, 0, i+2
	end := min(len(toks), i+2+maxCallTokens)
	for j := i + 2; j < end; j++ {
		t := toks[j]
		if t.Kind == pysrc.Op {
			switch t.Text {
			case "(", "[", "{":
				depth++
				continue
			case ")", "]", "}":
				if depth > 0 {
					depth--
					continue
				}
			case ",":
				if depth > 0 {
					continue
				}
			default:
				continue
			}
			// The end of an argument: toks[start:j].
			callArg(toks[start:j], pos, name, rule, ok, c)
			if toks[start].Kind != pysrc.Name || start+1 >= j || !toks[start+1].Is("=") {
				pos++
			}
			start = j + 1
			if t.Text == ")" {
				return
			}
		}
	}
}

// callArg checks one argument of a call: a positional or keyword string
// literal that the call's rule, or the generic keys, say names a model.
func callArg(arg []pysrc.Token, pos int, call string, rule callRule, hasRule bool, c *refCollector) {
	keyword := ""
	if len(arg) >= 2 && arg[0].Kind == pysrc.Name && arg[1].Is("=") {
		keyword, arg = arg[0].Text, arg[2:]
	}
	if len(arg) != 1 || !arg[0].Str() {
		return
	}
	v := arg[0]
	if hasRule {
		match := false
		if keyword == "" {
			for _, p := range rule.positions {
				match = match || p == pos
			}
		} else {
			for _, k := range rule.keywords {
				match = match || k == keyword
			}
		}
		if match {
			if id, prov, ok := classifyID(v.Text, rule.policy); ok {
				c.add(v.Line, id, prov, call, rule.role)
			}
			return
		}
	}
	if role, ok := keyRole(keyword); ok && keyword != "" {
		if id, prov, ok := classifyID(v.Text, genericPolicy); ok {
			c.add(v.Line, id, prov, call, role)
		}
	}
}

// configKeyPattern is the alternation of the generic keys, longest first.
var configKeyPattern = func() string {
	keys := make([]string, 0, len(genericKeys))
	for k := range genericKeys {
		keys = append(keys, regexp.QuoteMeta(k))
	}
	sort.Slice(keys, func(i, j int) bool {
		return len(keys[i]) > len(keys[j]) || len(keys[i]) == len(keys[j]) && keys[i] < keys[j]
	})
	return strings.Join(keys, "|")
}()

// configPatterns find "key: value" in YAML, "key": "value" in JSON and
// key = "value" in TOML; the value must then classify as a model id.
var configPatterns = map[refLang]*regexp.Regexp{
	langYAML: regexp.MustCompile(`(?m)^[ \t-]*["']?(` + configKeyPattern + `)["']?[ \t]*:[ \t]*["']?([^"'\s#,{}\[\]]+)["']?[ \t]*(?:#.*)?\r?$`),
	langJSON: regexp.MustCompile(`"(` + configKeyPattern + `)"\s*:\s*"([^"\\]{1,200})"`),
	langTOML: regexp.MustCompile(`(?m)^[ \t]*["']?(` + configKeyPattern + `)["']?[ \t]*=[ \t]*["']([^"'\n]{1,200})["']`),
}

// configRefs finds the models named by the generic keys of a configuration
// file (axolotl, unsloth and TRL training configs, adapter_config.json).
func configRefs(lang refLang, src []byte, c *refCollector) {
	re := configPatterns[lang]
	line, last := 1, 0
	for _, m := range re.FindAllSubmatchIndex(src, -1) {
		line += countNewlines(src[last:m[0]])
		last = m[0]
		key := string(src[m[2]:m[3]])
		val := string(src[m[4]:m[5]])
		id, prov, ok := classifyID(val, genericPolicy)
		if !ok {
			continue
		}
		l := line + countNewlines(src[m[0]:m[4]])
		c.add(l, id, prov, key, genericKeys[key])
	}
}

func countNewlines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}
