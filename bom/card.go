package bom

import (
	"bufio"
	"bytes"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// frontMatter is the YAML metadata of a Hugging Face model card.
type frontMatter struct {
	License           any            `yaml:"license"`
	LicenseName       string         `yaml:"license_name"`
	Language          any            `yaml:"language"`
	Tags              []string       `yaml:"tags"`
	Datasets          any            `yaml:"datasets"`
	BaseModel         any            `yaml:"base_model"`
	BaseModelRelation string         `yaml:"base_model_relation"`
	PipelineTag       string         `yaml:"pipeline_tag"`
	LibraryName       string         `yaml:"library_name"`
	ModelIndex        []modelIndex   `yaml:"model-index"`
	CO2               any            `yaml:"co2_eq_emissions"`
	ModelCreator      string         `yaml:"model_creator"`
	Extra             map[string]any `yaml:",inline"`
}

// modelIndex is one model of the card's model-index.
type modelIndex struct {
	Name    string `yaml:"name"`
	Results []struct {
		Task struct {
			Type string `yaml:"type"`
			Name string `yaml:"name"`
		} `yaml:"task"`
		Dataset struct {
			Type   string `yaml:"type"`
			Name   string `yaml:"name"`
			Config string `yaml:"config"`
			Split  string `yaml:"split"`
		} `yaml:"dataset"`
		Metrics []struct {
			Type  string `yaml:"type"`
			Name  string `yaml:"name"`
			Value any    `yaml:"value"`
		} `yaml:"metrics"`
	} `yaml:"results"`
}

// strings returns a YAML value that is a string or a list of strings.
func yamlStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// splitCard separates a card's YAML front matter from its markdown.
func splitCard(data []byte) (yamlPart, body []byte) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if !bytes.HasPrefix(data, []byte("---")) {
		return nil, data
	}
	rest := data[3:]
	i := bytes.Index(rest, []byte("\n---"))
	if i < 0 {
		return nil, data
	}
	body = rest[i+4:]
	if j := bytes.IndexByte(body, '\n'); j >= 0 {
		body = body[j+1:]
	} else {
		body = nil
	}
	return rest[:i], body
}

// readCard reads README.md: the front matter, then the sections.
func (r *reader) readCard() {
	data := r.readText("README.md")
	if data == nil {
		return
	}
	y, body := splitCard(data)
	var fm frontMatter
	if y != nil {
		_ = yaml.Unmarshal(y, &fm) // a card with broken YAML keeps its sections
	}
	r.applyFrontMatter(&fm)
	r.applySections(parseSections(body))
}

// applyFrontMatter fills the model from the card's metadata.
func (r *reader) applyFrontMatter(fm *frontMatter) {
	m, card := r.m, &r.m.Card
	for _, l := range yamlStrings(fm.License) {
		if l == "other" && fm.LicenseName != "" {
			l = fm.LicenseName
		}
		m.Licenses = appendNew(m.Licenses, spdxLicense(l))
	}
	m.Languages = appendNew(m.Languages, yamlStrings(fm.Language)...)
	m.Tags = appendNew(m.Tags, fm.Tags...)
	if fm.PipelineTag != "" {
		card.Task = fm.PipelineTag
	}
	if fm.ModelCreator != "" {
		m.Authors = appendNew(m.Authors, fm.ModelCreator)
	}
	relation := fm.BaseModelRelation
	if relation == "" {
		relation = "base"
	}
	for _, b := range yamlStrings(fm.BaseModel) {
		r.addBase(b, relation)
	}
	for _, d := range yamlStrings(fm.Datasets) {
		r.addDataset(Dataset{Name: d, Role: "training"})
	}
	for _, mi := range fm.ModelIndex {
		for _, res := range mi.Results {
			ds := res.Dataset.Type
			if ds == "" {
				ds = res.Dataset.Name
			}
			if ds != "" {
				r.addDataset(Dataset{Name: ds, Role: "evaluation", Config: res.Dataset.Config, Split: res.Dataset.Split})
			}
			for _, mt := range res.Metrics {
				card.Metrics = append(card.Metrics, Metric{Type: mt.Type, Name: mt.Name, Value: scalar(normalizeYAML(mt.Value)),
					Dataset: firstNonEmpty(res.Dataset.Name, ds), Task: firstNonEmpty(res.Task.Type, res.Task.Name)})
			}
		}
	}
	if card.Task == "" {
		for _, mi := range fm.ModelIndex {
			for _, res := range mi.Results {
				if res.Task.Type != "" {
					card.Task = res.Task.Type
				}
			}
		}
	}
	r.applyCO2(fm.CO2)
	for _, t := range m.Tags {
		if a, ok := tagApproach[strings.ToLower(t)]; ok && card.Approach == "" {
			card.Approach = a
		}
	}
	if fm.LibraryName != "" && fm.LibraryName != "transformers" {
		r.addPackage(fm.LibraryName, "", "README.md")
	}
}

// peftTasks maps PEFT's task types to tasks.
var peftTasks = map[string]string{"CAUSAL_LM": "text-generation", "SEQ_2_SEQ_LM": "text2text-generation",
	"SEQ_CLS": "text-classification", "TOKEN_CLS": "token-classification", "QUESTION_ANS": "question-answering",
	"FEATURE_EXTRACTION": "feature-extraction"}

// tagApproach maps training tags to CycloneDX learning approaches.
var tagApproach = map[string]string{
	"sft": "supervised", "text-classification": "supervised", "fine-tuned": "supervised",
	"dpo": "reinforcement-learning", "rlhf": "reinforcement-learning", "ppo": "reinforcement-learning",
	"grpo": "reinforcement-learning", "orpo": "reinforcement-learning", "kto": "reinforcement-learning",
	"pretraining": "self-supervised", "pretrained": "self-supervised",
}

// normalizeYAML turns YAML numbers into JSON-like values for scalar.
func normalizeYAML(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case float32:
		return float64(x)
	}
	return v
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// applyCO2 reads co2_eq_emissions: a number of grams, or a map with
// emissions (grams), source, training_type, geographical_location and
// hardware_used.
func (r *reader) applyCO2(v any) {
	env := &Environment{}
	switch x := v.(type) {
	case int, float64:
		env.CO2eqKg = toFloat(x) / 1000
	case map[string]any:
		env.CO2eqKg = toFloat(x["emissions"]) / 1000
		env.Source, _ = x["source"].(string)
		env.Activity, _ = x["training_type"].(string)
		env.Region, _ = x["geographical_location"].(string)
		env.Hardware, _ = x["hardware_used"].(string)
	default:
		return
	}
	r.m.Card.Environment = env
}

// toFloat reads a YAML number or a number in a string ("1.2 kg" is not).
func toFloat(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	case string:
		f, _ := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f
	}
	return 0
}

// section is a markdown section: its heading and its text.
type section struct {
	title string
	text  string
}

// headingRE matches an ATX markdown heading.
var headingRE = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)

// parseSections splits markdown into sections by heading; text before the
// first heading is a section with an empty title. Fenced code is kept in
// its section and not searched for headings.
func parseSections(body []byte) []section {
	var out []section
	cur := section{}
	var text strings.Builder
	fenced := false
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
		}
		if m := headingRE.FindStringSubmatch(line); m != nil && !fenced {
			cur.text = text.String()
			out = append(out, cur)
			cur, text = section{title: m[2]}, strings.Builder{}
			continue
		}
		text.WriteString(line)
		text.WriteByte('\n')
	}
	cur.text = text.String()
	return append(out, cur)
}

// sectionField says where the content of a section goes, by its
// normalized title (lower case, without punctuation).
var sectionField = map[string]string{
	"model description": "description", "model details": "description", "model summary": "description",
	"direct use": "uses", "downstream use": "uses", "uses": "uses", "intended uses": "uses", "intended use": "uses",
	"intended uses and limitations": "uses", "how to use": "",
	"outofscope use": "out-of-scope", "out of scope use": "out-of-scope", "misuse": "out-of-scope",
	"bias risks and limitations": "limitations", "limitations": "limitations", "technical limitations": "limitations",
	"limitations and bias": "limitations", "risks and limitations": "limitations",
	"risks": "risks", "ethical considerations": "risks", "bias": "risks", "ethics": "risks",
	"recommendations": "recommendations", "mitigations": "recommendations",
	"fairness": "fairness", "fairness assessment": "fairness", "fairness evaluation": "fairness",
	"training procedure": "training", "training details": "training", "training hyperparameters": "hyperparameters",
	"environmental impact": "environment",
	"framework versions":   "frameworks",
	"tradeoffs":            "tradeoffs", "performance tradeoffs": "tradeoffs",
	"users": "users", "intended users": "users", "primary intended users": "users",
	"developed by": "authors", "model creators": "authors", "authors": "authors", "model card authors": "authors",
}

// bracketsRE matches the template's "[optional]" and other bracketed notes.
var bracketsRE = regexp.MustCompile(`\[[^\]]*\]|\([^)]*\)`)

// normalizeTitle lowers a heading and drops what is not a letter, a digit
// or a space.
func normalizeTitle(t string) string {
	t = bracketsRE.ReplaceAllString(strings.ToLower(strings.Trim(t, "*_ ")), "")
	var b strings.Builder
	for _, r := range t {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == ' ':
			b.WriteRune(r)
		case r == '-' || r == '/':
			b.WriteRune(' ')
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// applySections fills the model from the card's sections.
func (r *reader) applySections(secs []section) {
	m, card := r.m, &r.m.Card
	var recommendations string
	for i, s := range secs {
		field, ok := sectionField[normalizeTitle(s.title)]
		if normalizeTitle(s.title) == "outofscope use" || strings.HasPrefix(normalizeTitle(s.title), "out of scope") {
			field, ok = "out-of-scope", true
		}
		items := cardItems(s.text)
		switch {
		case i == 0 && s.title == "" || ok && field == "description" || strings.HasPrefix(normalizeTitle(s.title), "model card for"):
			if m.Description == "" {
				if ps := paragraphs(s.text); len(ps) > 0 {
					m.Description = ps[0]
				}
			}
			m.Authors = appendNew(m.Authors, labelled(s.text, "developed by", "model creator", "shared by")...)
		case !ok:
		case field == "uses":
			card.UseCases = append(card.UseCases, items...)
		case field == "out-of-scope":
			for _, it := range items {
				card.Limitations = append(card.Limitations, "Out of scope: "+it)
			}
		case field == "limitations":
			card.Limitations = append(card.Limitations, items...)
		case field == "risks":
			for _, it := range items {
				card.EthicalConsiderations = append(card.EthicalConsiderations, Risk{Name: it})
			}
		case field == "recommendations":
			recommendations = strings.Join(items, " ")
		case field == "fairness":
			card.FairnessAssessments = append(card.FairnessAssessments, items...)
		case field == "tradeoffs":
			card.Tradeoffs = append(card.Tradeoffs, items...)
		case field == "users":
			card.Users = append(card.Users, items...)
		case field == "authors":
			m.Authors = appendNew(m.Authors, items...)
		case field == "training":
			if t := strings.Join(paragraphs(s.text), "\n\n"); t != "" {
				card.TrainingProcedure = strings.TrimSpace(card.TrainingProcedure + "\n\n" + t)
			}
		case field == "environment":
			r.applyEnvironmentSection(s.text)
		case field == "hyperparameters":
			for _, kv := range keyValues(s.text) {
				card.Parameters = append(card.Parameters, Property{Name: "training." + kv.Name, Value: kv.Value})
			}
		case field == "frameworks":
			r.applyFrameworks(s.text)
		}
	}
	if recommendations != "" {
		if len(card.EthicalConsiderations) == 0 && len(card.Limitations) > 0 {
			card.EthicalConsiderations = []Risk{{Name: "Bias, risks and limitations stated in the model card"}}
		}
		for i := range card.EthicalConsiderations {
			card.EthicalConsiderations[i].Mitigation = recommendations
		}
	}
}

// keyValues returns the "- key: value" items of a section.
func keyValues(text string) []Property {
	var out []Property
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if !strings.HasPrefix(t, "- ") {
			continue
		}
		k, v, ok := strings.Cut(t[2:], ":")
		if k, v = clean(k), strings.TrimSpace(v); ok && k != "" && v != "" && !strings.Contains(k, " ") {
			out = append(out, Property{Name: k, Value: v})
		}
	}
	return out
}

// frameworkPackages maps the names the Trainer writes under "Framework
// versions" to Python packages.
var frameworkPackages = map[string]string{"peft": "peft", "trl": "trl", "transformers": "transformers",
	"pytorch": "torch", "torch": "torch", "datasets": "datasets", "tokenizers": "tokenizers",
	"accelerate": "accelerate", "unsloth": "unsloth", "tensorflow": "tensorflow", "jax": "jax"}

// frameworkRE matches "- PEFT 0.18.0" and "- Transformers: 4.57.1".
var frameworkRE = regexp.MustCompile(`^[-*+]\s+([A-Za-z][\w.-]*)\s*:?\s+v?([0-9][\w.+-]*)`)

// applyFrameworks reads the framework versions the Trainer writes into a
// card, as dependencies.
func (r *reader) applyFrameworks(text string) {
	for _, line := range strings.Split(text, "\n") {
		m := frameworkRE.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		if pkg, ok := frameworkPackages[strings.ToLower(m[1])]; ok {
			r.addPackage(pkg, m[2], "README.md")
		}
	}
}

// placeholder is the model card template's text for a field left empty.
var placeholder = regexp.MustCompile(`(?i)\[?more information needed\]?|\{\{.*\}\}`)

// markup strips emphasis, links and HTML comments for plain text.
var markup = strings.NewReplacer("**", "", "__", "", "`", "")

// cardItems returns a section's bullet items, or its paragraphs when it
// has no bullets, without template placeholders.
func cardItems(text string) []string {
	var bullets []string
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		for _, p := range []string{"- ", "* ", "+ "} {
			if strings.HasPrefix(t, p) {
				if s := clean(t[len(p):]); s != "" {
					bullets = append(bullets, s)
				}
			}
		}
	}
	if len(bullets) > 0 {
		return bullets
	}
	return paragraphs(text)
}

// paragraphs returns the text's paragraphs of prose (not tables, code or
// HTML), cleaned.
func paragraphs(text string) []string {
	var out []string
	for _, p := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		p = strings.TrimSpace(p)
		if p == "" || strings.HasPrefix(p, "|") || strings.HasPrefix(p, "```") || strings.HasPrefix(p, "<") || strings.HasPrefix(p, "- ") || strings.HasPrefix(p, "* ") {
			continue
		}
		if s := clean(strings.Join(strings.Fields(p), " ")); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// linkRE matches a markdown link or image: its text is kept.
var linkRE = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)

// clean strips markup, links and placeholders.
func clean(s string) string {
	s = placeholder.ReplaceAllString(markup.Replace(linkRE.ReplaceAllString(s, "$1")), "")
	s = strings.TrimSpace(strings.Trim(strings.TrimSpace(s), ":"))
	if s == "" || s == "[]" {
		return ""
	}
	return s
}

// labelled returns the values of "- **Label:** value" lines.
func labelled(text string, labels ...string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		t := strings.ToLower(markup.Replace(strings.TrimLeft(strings.TrimSpace(line), "-*+ ")))
		for _, l := range labels {
			if strings.HasPrefix(t, l+":") {
				v := clean(strings.TrimSpace(markup.Replace(strings.TrimLeft(strings.TrimSpace(line), "-*+ ")))[len(l)+1:])
				if v != "" {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// applyEnvironmentSection reads the template's Environmental Impact list
// (Hardware Type, Hours used, Cloud Provider, Compute Region, Carbon
// Emitted) into the fields the front matter left empty.
func (r *reader) applyEnvironmentSection(text string) {
	env := r.m.Card.Environment
	if env == nil {
		env = &Environment{}
	}
	first := func(labels ...string) string {
		if v := labelled(text, labels...); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	env.Hardware = firstNonEmpty(env.Hardware, first("hardware type", "hardware"))
	env.CloudProvider = firstNonEmpty(env.CloudProvider, first("cloud provider"))
	env.Region = firstNonEmpty(env.Region, first("compute region", "region"))
	if env.HoursUsed == 0 {
		env.HoursUsed = leadingNumber(first("hours used", "training time"))
	}
	if env.CO2eqKg == 0 {
		env.CO2eqKg = carbonKg(first("carbon emitted", "co2 emitted", "carbon footprint"))
	}
	if env.EnergyKWh == 0 {
		env.EnergyKWh = leadingNumber(first("energy consumed", "energy consumption", "energy"))
	}
	if *env != (Environment{}) {
		r.m.Card.Environment = env
	}
}

// numberRE matches a leading decimal number.
var numberRE = regexp.MustCompile(`[-+]?\d+(?:[.,]\d+)?`)

func leadingNumber(s string) float64 {
	f, _ := strconv.ParseFloat(strings.ReplaceAll(numberRE.FindString(s), ",", "."), 64)
	return f
}

// carbonKg reads "12.3 kg CO2eq", "450 g", "0.5 t" as kilograms.
func carbonKg(s string) float64 {
	v := leadingNumber(s)
	low := strings.ToLower(s)
	switch {
	case strings.Contains(low, "kg"):
		return v
	case strings.Contains(low, " t") || strings.Contains(low, "tonne") || strings.Contains(low, "tco2"):
		return v * 1000
	case strings.Contains(low, "g"):
		return v / 1000
	}
	return v
}

// spdxIDs maps the hub's license ids to SPDX ids; others are kept as
// names (llama3.1, gemma, openrail...: not SPDX licenses).
var spdxIDs = map[string]string{
	"apache-2.0": "Apache-2.0", "mit": "MIT", "bsd-3-clause": "BSD-3-Clause", "bsd-2-clause": "BSD-2-Clause",
	"bsd": "BSD-3-Clause", "gpl-3.0": "GPL-3.0-only", "gpl-2.0": "GPL-2.0-only", "lgpl-3.0": "LGPL-3.0-only",
	"agpl-3.0": "AGPL-3.0-only", "mpl-2.0": "MPL-2.0", "cc0-1.0": "CC0-1.0", "cc-by-4.0": "CC-BY-4.0",
	"cc-by-sa-4.0": "CC-BY-SA-4.0", "cc-by-nc-4.0": "CC-BY-NC-4.0", "cc-by-nc-sa-4.0": "CC-BY-NC-SA-4.0",
	"cc-by-nc-nd-4.0": "CC-BY-NC-ND-4.0", "cc-by-3.0": "CC-BY-3.0", "cc-by-sa-3.0": "CC-BY-SA-3.0",
	"artistic-2.0": "Artistic-2.0", "unlicense": "Unlicense", "wtfpl": "WTFPL", "afl-3.0": "AFL-3.0",
	"ecl-2.0": "ECL-2.0", "epl-2.0": "EPL-2.0", "odc-by": "ODC-By-1.0", "odbl": "ODbL-1.0", "pddl": "PDDL-1.0",
	"openrail": "OpenRAIL", "bigscience-openrail-m": "BigScience-OpenRAIL-M", "creativeml-openrail-m": "CreativeML-OpenRAIL-M",
	"llama2": "LLAMA-2", "llama3": "LLAMA-3", "llama3.1": "LLAMA-3.1", "llama3.2": "LLAMA-3.2", "llama3.3": "LLAMA-3.3",
}

// spdxNames are the spdxIDs values that are not SPDX license ids.
var spdxNames = []string{"OpenRAIL", "BigScience-OpenRAIL-M", "CreativeML-OpenRAIL-M", "LLAMA-2", "LLAMA-3", "LLAMA-3.1", "LLAMA-3.2", "LLAMA-3.3"}

// spdxLicense returns the SPDX id of a hub license id, or the id as given.
func spdxLicense(l string) string {
	if id, ok := spdxIDs[strings.ToLower(strings.TrimSpace(l))]; ok {
		return id
	}
	return strings.TrimSpace(l)
}

// IsSPDXLicense reports whether l is an SPDX license id Violet knows (the
// writers put others in a license name).
func IsSPDXLicense(l string) bool {
	for _, id := range spdxIDs {
		if id == l && !slices.Contains(spdxNames, l) {
			return true
		}
	}
	return false
}

// addDataset records a dataset once per role.
func (r *reader) addDataset(d Dataset) {
	d.Name = strings.TrimSpace(d.Name)
	if d.Name == "" {
		return
	}
	for _, x := range r.m.Datasets {
		if x.Name == d.Name && x.Role == d.Role {
			return
		}
	}
	if d.URL == "" && hubID.MatchString(d.Name) {
		d.URL = "https://huggingface.co/datasets/" + d.Name
	}
	r.m.Datasets = append(r.m.Datasets, d)
}

// finish derives what the sources leave implicit: the task from the
// architecture, the inputs and outputs from the task, the purl of a hub
// model, the release date.
func (r *reader) finish() {
	m, card := r.m, &r.m.Card
	if card.Task == "" {
		for _, at := range architectureTasks {
			if strings.HasSuffix(card.Architecture, at.suffix) {
				card.Task = at.task
				break
			}
		}
	}
	if io, ok := taskIO[card.Task]; ok {
		card.Inputs, card.Outputs = io[0], io[1]
	}
	if card.Approach == "" && m.Adapter != nil {
		card.Approach = "supervised"
	}
	if card.Task == "" && m.Adapter != nil {
		card.Task = peftTasks[m.Adapter.TaskType]
		if io, ok := taskIO[card.Task]; ok {
			card.Inputs, card.Outputs = io[0], io[1]
		}
	}
	if m.Group != "" && m.PURL == "" {
		m.PURL = huggingFacePURL(m.Group+"/"+m.Name, m.Version)
	}
}
