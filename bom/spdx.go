package bom

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// SPDX 3.0.1 constants: the version written in CreationInfo and the
// JSON-LD context every document names.
const (
	SPDXVersion = "3.0.1"
	SPDXContext = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
)

// SPDXDefaultNamespace is the base of the element ids when
// SPDXOptions.Namespace is empty: a hash of the model is appended to it.
const SPDXDefaultNamespace = "https://violet.invalid/spdx/"

// SPDXOptions are the choices of WriteSPDX that the model does not make.
type SPDXOptions struct {
	// Created is the document's creation time; zero means now. Set it for
	// reproducible output.
	Created time.Time
	// Tool names the tool that writes the document ("violet dev"); empty
	// means "violet".
	Tool string
	// Namespace is the URI every spdxId starts with. Empty means
	// SPDXDefaultNamespace followed by a SHA-256 of the model's content
	// and a slash, so the same model always gets the same ids.
	Namespace string
}

// WriteSPDX writes m as an SPDX 3.0.1 JSON-LD document with the Core,
// Software, AI and Dataset profiles: the model is an ai_AIPackage (the
// document's root element), its files software_File elements it contains,
// its datasets dataset_DatasetPackage elements it is trainedOn or
// testedOn, its base models ai_AIPackage elements that are ancestorOf it,
// its dependencies software_Package elements it dependsOn, its licenses
// simplelicensing_LicenseExpression elements it hasDeclaredLicense, and
// the scanner's findings Annotation elements on the model or file.
func WriteSPDX(w io.Writer, m *Model, opts SPDXOptions) error {
	if m == nil {
		return fmt.Errorf("bom: no model to write")
	}
	ns := opts.Namespace
	if ns == "" {
		sum, err := spdx3ModelHash(m)
		if err != nil {
			return err
		}
		ns = SPDXDefaultNamespace + sum + "/"
	}
	if u, err := url.Parse(ns); err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("bom: SPDX namespace %q is not an absolute URI", ns)
	}
	if !strings.HasSuffix(ns, "/") && !strings.HasSuffix(ns, "#") {
		ns += "/"
	}
	created := opts.Created
	if created.IsZero() {
		created = time.Now()
	}
	tool := opts.Tool
	if tool == "" {
		tool = "violet"
	}
	b := &spdx3Builder{ns: ns, ids: map[string]bool{}, orgs: map[string]string{}}
	doc := b.build(m, created, tool)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

// spdx3ModelHash is the hex SHA-256 of the model's JSON, the default
// namespace's last segment.
func spdx3ModelHash(m *Model) (string, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("bom: hashing the model: %w", err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16]), nil
}

// spdx3CreationInfo is the blank node every element's creationInfo names.
const spdx3CreationInfo = "_:creationinfo"

// spdx3Document is the JSON-LD document.
type spdx3Document struct {
	Context string `json:"@context"`
	Graph   []any  `json:"@graph"`
}

// spdx3CreationInfoNode is the CreationInfo blank node.
type spdx3CreationInfoNode struct {
	Type         string   `json:"type"`
	ID           string   `json:"@id"`
	SpecVersion  string   `json:"specVersion"`
	Created      string   `json:"created"`
	CreatedBy    []string `json:"createdBy"`
	CreatedUsing []string `json:"createdUsing,omitempty"`
}

// spdx3Element holds the properties of Core's Element that are written.
type spdx3Element struct {
	Type          string      `json:"type"`
	SpdxID        string      `json:"spdxId"`
	CreationInfo  string      `json:"creationInfo"`
	Name          string      `json:"name,omitempty"`
	Summary       string      `json:"summary,omitempty"`
	Description   string      `json:"description,omitempty"`
	Comment       string      `json:"comment,omitempty"`
	VerifiedUsing []spdx3Hash `json:"verifiedUsing,omitempty"`
}

// spdx3Hash is a Hash integrity method.
type spdx3Hash struct {
	Type      string `json:"type"`
	Algorithm string `json:"algorithm"`
	HashValue string `json:"hashValue"`
}

// spdx3SpdxDocument is the SpdxDocument element.
type spdx3SpdxDocument struct {
	spdx3Element
	ProfileConformance []string `json:"profileConformance"`
	RootElement        []string `json:"rootElement"`
	Element            []string `json:"element"`
}

// spdx3Package is a software_Package, ai_AIPackage or
// dataset_DatasetPackage: the properties of the three classes, all
// optional in JSON, each written only for the class that has it.
type spdx3Package struct {
	spdx3Element
	OriginatedBy     []string `json:"originatedBy,omitempty"`
	SuppliedBy       string   `json:"suppliedBy,omitempty"`
	ReleaseTime      string   `json:"releaseTime,omitempty"`
	PrimaryPurpose   string   `json:"software_primaryPurpose,omitempty"`
	DownloadLocation string   `json:"software_downloadLocation,omitempty"`
	PackageURL       string   `json:"software_packageUrl,omitempty"`
	PackageVersion   string   `json:"software_packageVersion,omitempty"`

	TypeOfModel                 []string               `json:"ai_typeOfModel,omitempty"`
	Domain                      []string               `json:"ai_domain,omitempty"`
	InformationAboutApplication string                 `json:"ai_informationAboutApplication,omitempty"`
	InformationAboutTraining    string                 `json:"ai_informationAboutTraining,omitempty"`
	Limitation                  string                 `json:"ai_limitation,omitempty"`
	Metric                      []spdx3DictionaryEntry `json:"ai_metric,omitempty"`
	Hyperparameter              []spdx3DictionaryEntry `json:"ai_hyperparameter,omitempty"`
	EnergyConsumption           *spdx3Energy           `json:"ai_energyConsumption,omitempty"`

	DatasetType []string `json:"dataset_datasetType,omitempty"`
}

// spdx3File is a software_File.
type spdx3File struct {
	spdx3Element
	PrimaryPurpose string `json:"software_primaryPurpose,omitempty"`
	FileKind       string `json:"software_fileKind"`
}

// spdx3DictionaryEntry is a DictionaryEntry.
type spdx3DictionaryEntry struct {
	Type  string `json:"type"`
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
}

// spdx3Energy is an ai_EnergyConsumption.
type spdx3Energy struct {
	Type       string                   `json:"type"`
	Training   []spdx3EnergyDescription `json:"ai_trainingEnergyConsumption,omitempty"`
	Finetuning []spdx3EnergyDescription `json:"ai_finetuningEnergyConsumption,omitempty"`
}

// spdx3EnergyDescription is an ai_EnergyConsumptionDescription. The
// quantity (an xsd:decimal) is a JSON number, as the SPDX libraries
// generated from the model write and read it (tools-golang rejects the
// string form of the spec's example).
type spdx3EnergyDescription struct {
	Type           string      `json:"type"`
	EnergyQuantity json.Number `json:"ai_energyQuantity"`
	EnergyUnit     string      `json:"ai_energyUnit"`
}

// spdx3License is a simplelicensing_LicenseExpression.
type spdx3License struct {
	spdx3Element
	LicenseExpression string `json:"simplelicensing_licenseExpression"`
}

// spdx3Annotation is an Annotation.
type spdx3Annotation struct {
	spdx3Element
	AnnotationType string `json:"annotationType"`
	Subject        string `json:"subject"`
	Statement      string `json:"statement,omitempty"`
}

// spdx3Relationship is a Relationship.
type spdx3Relationship struct {
	spdx3Element
	RelationshipType string   `json:"relationshipType"`
	From             string   `json:"from"`
	To               []string `json:"to"`
}

// spdx3Builder collects the elements of one document.
type spdx3Builder struct {
	ns       string
	ids      map[string]bool
	orgs     map[string]string // organization name → spdxId
	elements []any             // in document order, after the document
	ordered  []string          // their spdxIds
	rels     []any
	relIDs   []string
}

// id returns a new spdxId in the namespace from kind and name, unique in
// the document.
func (b *spdx3Builder) id(kind, name string) string {
	base := b.ns + kind
	if s := spdx3Slug(name); s != "" {
		base += "/" + s
	}
	id := base
	for n := 2; b.ids[id]; n++ {
		id = base + "-" + strconv.Itoa(n)
	}
	b.ids[id] = true
	return id
}

// spdx3Slug keeps the characters of name that need no escaping in an IRI
// path segment and replaces runs of the others with one hyphen.
func spdx3Slug(name string) string {
	var s strings.Builder
	dash := false
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_':
			s.WriteRune(r)
			dash = false
		default:
			if !dash && s.Len() > 0 {
				s.WriteByte('-')
			}
			dash = true
		}
	}
	return strings.Trim(s.String(), "-.")
}

// element returns an element of type typ with a new spdxId.
func (b *spdx3Builder) element(typ, kind, name string) spdx3Element {
	return spdx3Element{Type: typ, SpdxID: b.id(kind, name), CreationInfo: spdx3CreationInfo, Name: name}
}

// add appends an element to the graph.
func (b *spdx3Builder) add(id string, e any) {
	b.elements = append(b.elements, e)
	b.ordered = append(b.ordered, id)
}

// relate adds a relationship from from to each of to, if there are any.
func (b *spdx3Builder) relate(typ, from string, to []string, comment string) {
	if len(to) == 0 {
		return
	}
	id := b.id("relationship", from[strings.LastIndex(from, "/")+1:]+"-"+typ)
	b.rels = append(b.rels, spdx3Relationship{
		spdx3Element:     spdx3Element{Type: "Relationship", SpdxID: id, CreationInfo: spdx3CreationInfo, Comment: comment},
		RelationshipType: typ,
		From:             from,
		To:               to,
	})
	b.relIDs = append(b.relIDs, id)
}

// organization returns the spdxId of the Organization named name, adding
// it the first time.
func (b *spdx3Builder) organization(name string) string {
	if id, ok := b.orgs[name]; ok {
		return id
	}
	e := b.element("Organization", "organization", name)
	b.orgs[name] = e.SpdxID
	b.add(e.SpdxID, e)
	return e.SpdxID
}

// build returns the document for m.
func (b *spdx3Builder) build(m *Model, created time.Time, tool string) spdx3Document {
	agent := b.element("SoftwareAgent", "agent", tool)
	toolEl := b.element("Tool", "tool", tool)
	info := spdx3CreationInfoNode{
		Type:         "CreationInfo",
		ID:           spdx3CreationInfo,
		SpecVersion:  SPDXVersion,
		Created:      spdx3Time(created),
		CreatedBy:    []string{agent.SpdxID},
		CreatedUsing: []string{toolEl.SpdxID},
	}
	docEl := b.element("SpdxDocument", "document", "")
	docEl.Name = "SPDX AI BOM of " + spdx3FullName(m)

	model := b.modelPackage(m)
	b.add(model.SpdxID, &model)

	// Suppliers and authors.
	if m.Group != "" {
		model.SuppliedBy = b.organization(m.Group)
	}
	for _, a := range m.Authors {
		if id, ok := b.orgs[a]; ok {
			model.OriginatedBy = append(model.OriginatedBy, id)
			continue
		}
		e := b.element("Agent", "agent", a)
		b.add(e.SpdxID, e)
		model.OriginatedBy = append(model.OriginatedBy, e.SpdxID)
	}

	// Files, by content.
	fileIDs := map[string]string{}
	var files []string
	for _, f := range m.Files {
		e := spdx3File{spdx3Element: b.element("software_File", "file", f.Path), FileKind: "file"}
		e.PrimaryPurpose = spdx3FilePurpose[f.Kind]
		if f.Format != "" {
			e.Comment = "format: " + f.Format
		}
		if f.SHA256 != "" {
			e.VerifiedUsing = []spdx3Hash{{Type: "Hash", Algorithm: "sha256", HashValue: strings.ToLower(f.SHA256)}}
		}
		b.add(e.SpdxID, e)
		files = append(files, e.SpdxID)
		fileIDs[f.Path] = e.SpdxID
	}
	b.relate("contains", model.SpdxID, files, "")

	// Licenses as declared by the card.
	var licenses []string
	for _, l := range m.Licenses {
		e := spdx3License{spdx3Element: b.element("simplelicensing_LicenseExpression", "license", l)}
		e.Name = ""
		e.LicenseExpression = spdx3LicenseExpression(l)
		if !strings.EqualFold(e.LicenseExpression, l) {
			e.Comment = "declared as " + strconv.Quote(l)
		}
		b.add(e.SpdxID, e)
		licenses = append(licenses, e.SpdxID)
	}
	b.relate("hasDeclaredLicense", model.SpdxID, licenses, "")

	// Datasets.
	dtype := spdx3DatasetType(m.Card)
	var training, evaluation []string
	for _, d := range m.Datasets {
		e := spdx3Package{spdx3Element: b.element("dataset_DatasetPackage", "dataset", d.Name)}
		e.PrimaryPurpose = "data"
		e.DownloadLocation = d.URL
		e.DatasetType = []string{dtype}
		var notes []string
		if d.Config != "" {
			notes = append(notes, "config: "+d.Config)
		}
		if d.Split != "" {
			notes = append(notes, "split: "+d.Split)
		}
		e.Comment = strings.Join(notes, "; ")
		b.add(e.SpdxID, &e)
		if d.Role == "evaluation" {
			evaluation = append(evaluation, e.SpdxID)
		} else {
			training = append(training, e.SpdxID)
		}
	}
	b.relate("trainedOn", model.SpdxID, training, "")
	b.relate("testedOn", model.SpdxID, evaluation, "")

	// Base models: each is an ancestor of this one.
	for _, r := range m.BaseModels {
		e := spdx3Package{spdx3Element: b.element("ai_AIPackage", "base-model", r.ID)}
		e.PrimaryPurpose = "model"
		e.PackageURL = r.PURL
		if group, _, ok := strings.Cut(r.ID, "/"); ok && strings.HasPrefix(r.PURL, "pkg:huggingface/") {
			e.DownloadLocation = spdx3HubURL(r.ID)
			e.SuppliedBy = b.organization(group)
		}
		b.add(e.SpdxID, &e)
		relation := r.Relation
		if relation == "" {
			relation = "base"
		}
		b.relate("ancestorOf", e.SpdxID, []string{model.SpdxID}, "relation: "+relation)
	}

	// Dependencies.
	var deps []string
	for _, p := range m.Dependencies {
		e := spdx3Package{spdx3Element: b.element("software_Package", "package", p.Name)}
		e.PrimaryPurpose = "library"
		e.PackageVersion = p.Version
		e.PackageURL = p.PURL
		if p.Source != "" {
			e.Comment = "from " + p.Source
		}
		b.add(e.SpdxID, &e)
		deps = append(deps, e.SpdxID)
	}
	b.relate("dependsOn", model.SpdxID, deps, "")

	// Findings: review annotations on the file they concern.
	for _, f := range m.Findings {
		e := spdx3Annotation{spdx3Element: b.element("Annotation", "finding", f.Rule)}
		e.Name = ""
		e.AnnotationType = "review"
		e.Subject = model.SpdxID
		if id, ok := fileIDs[f.Location.Path]; ok {
			e.Subject = id
		} else {
			for _, file := range m.Files {
				if strings.HasSuffix(f.Location.Path, "/"+file.Path) {
					e.Subject = fileIDs[file.Path]
					break
				}
			}
		}
		e.Statement = spdx3FindingStatement(f.Rule, f.Severity.String(), f.Title, f.Message, f.Evidence, f.Location.String())
		b.add(e.SpdxID, e)
	}

	profiles := []string{"core", "software", "ai"}
	if len(m.Datasets) > 0 {
		profiles = append(profiles, "dataset")
	}
	all := append([]string{agent.SpdxID, toolEl.SpdxID}, b.ordered...)
	all = append(all, b.relIDs...)
	document := spdx3SpdxDocument{
		spdx3Element:       docEl,
		ProfileConformance: profiles,
		RootElement:        []string{model.SpdxID},
		Element:            all,
	}
	graph := []any{info, agent, toolEl, document}
	graph = append(graph, b.elements...)
	graph = append(graph, b.rels...)
	return spdx3Document{Context: SPDXContext, Graph: graph}
}

// modelPackage returns the ai_AIPackage of the model itself.
func (b *spdx3Builder) modelPackage(m *Model) spdx3Package {
	p := spdx3Package{spdx3Element: b.element("ai_AIPackage", "model", m.Name)}
	p.Name = spdx3FullName(m)
	p.Description = m.Description
	p.PrimaryPurpose = "model"
	p.PackageVersion = m.Version
	p.PackageURL = m.PURL
	if !m.Released.IsZero() {
		p.ReleaseTime = spdx3Time(m.Released)
	}
	if m.Group != "" && (m.PURL == "" || strings.HasPrefix(m.PURL, "pkg:huggingface/")) {
		p.DownloadLocation = spdx3HubURL(m.Group + "/" + m.Name)
	}
	c := m.Card
	p.TypeOfModel = spdx3NonEmpty(c.ArchitectureFamily, c.Architecture)
	p.Domain = spdx3NonEmpty(c.Task)
	if m.Adapter != nil && m.Adapter.TaskType != "" && len(p.Domain) == 0 {
		p.Domain = []string{m.Adapter.TaskType}
	}

	var app spdx3Paragraphs
	app.list("Intended users", c.Users)
	app.list("Use cases", c.UseCases)
	app.list("Inputs", c.Inputs)
	app.list("Outputs", c.Outputs)
	app.list("Languages", m.Languages)
	p.InformationAboutApplication = app.String()

	var lim spdx3Paragraphs
	lim.list("Limitations", c.Limitations)
	lim.list("Trade-offs", c.Tradeoffs)
	var risks []string
	for _, r := range c.EthicalConsiderations {
		if r.Mitigation != "" {
			risks = append(risks, r.Name+" (mitigation: "+r.Mitigation+")")
		} else {
			risks = append(risks, r.Name)
		}
	}
	lim.list("Ethical considerations", risks)
	lim.list("Fairness assessments", c.FairnessAssessments)
	p.Limitation = lim.String()

	var train spdx3Paragraphs
	if c.Approach != "" {
		train.add("Learning approach: " + c.Approach)
	}
	if c.TrainingProcedure != "" {
		train.add(c.TrainingProcedure)
	}
	if a := m.Adapter; a != nil {
		s := "PEFT adapter"
		if a.Type != "" {
			s = a.Type + " adapter"
		}
		if a.BaseModel != "" {
			s += " of " + a.BaseModel
		}
		if a.Library != "" {
			s += ", written by " + a.Library
		}
		train.add(s)
	}
	if e := c.Environment; e != nil {
		var facts []string
		if e.CO2eqKg != 0 {
			facts = append(facts, "emissions "+spdx3Decimal(e.CO2eqKg)+" kg CO2eq")
		}
		if e.Hardware != "" {
			facts = append(facts, "hardware "+e.Hardware)
		}
		if e.HoursUsed != 0 {
			facts = append(facts, spdx3Decimal(e.HoursUsed)+" hours")
		}
		if e.CloudProvider != "" {
			facts = append(facts, "cloud provider "+e.CloudProvider)
		}
		if e.Region != "" {
			facts = append(facts, "region "+e.Region)
		}
		if e.Source != "" {
			facts = append(facts, "source "+e.Source)
		}
		if len(facts) > 0 {
			what := "Training"
			if e.Activity == "fine-tuning" {
				what = "Fine-tuning"
			}
			train.add(what + ": " + strings.Join(facts, ", ") + ".")
		}
		if e.EnergyKWh != 0 {
			d := []spdx3EnergyDescription{{Type: "ai_EnergyConsumptionDescription", EnergyQuantity: json.Number(spdx3Decimal(e.EnergyKWh)), EnergyUnit: "kilowattHour"}}
			p.EnergyConsumption = &spdx3Energy{Type: "ai_EnergyConsumption"}
			if e.Activity == "fine-tuning" {
				p.EnergyConsumption.Finetuning = d
			} else {
				p.EnergyConsumption.Training = d
			}
		}
	}
	p.InformationAboutTraining = train.String()

	seen := map[string]bool{}
	for _, mt := range c.Metrics {
		key := mt.Type
		if key == "" {
			key = mt.Name
		}
		var where []string
		if mt.Dataset != "" {
			where = append(where, mt.Dataset)
		}
		if mt.Task != "" {
			where = append(where, mt.Task)
		}
		if len(where) > 0 {
			key += " (" + strings.Join(where, ", ") + ")"
		}
		k := key
		for n := 2; seen[k]; n++ {
			k = key + " #" + strconv.Itoa(n)
		}
		seen[k] = true
		p.Metric = append(p.Metric, spdx3DictionaryEntry{Type: "DictionaryEntry", Key: k, Value: mt.Value})
	}
	for _, pr := range c.Parameters {
		p.Hyperparameter = append(p.Hyperparameter, spdx3DictionaryEntry{Type: "DictionaryEntry", Key: pr.Name, Value: pr.Value})
	}
	if a := m.Adapter; a != nil {
		h := func(k, v string) {
			if v != "" {
				p.Hyperparameter = append(p.Hyperparameter, spdx3DictionaryEntry{Type: "DictionaryEntry", Key: k, Value: v})
			}
		}
		h("peft_type", a.Type)
		if a.Rank != 0 {
			h("r", strconv.Itoa(a.Rank))
		}
		if a.Alpha != 0 {
			h("lora_alpha", spdx3Decimal(a.Alpha))
		}
		if a.Dropout != 0 {
			h("lora_dropout", spdx3Decimal(a.Dropout))
		}
		h("target_modules", strings.Join(a.TargetModules, ","))
		h("task_type", a.TaskType)
	}
	return p
}

// spdx3Paragraphs builds a text property out of labelled parts.
type spdx3Paragraphs struct{ parts []string }

func (p *spdx3Paragraphs) add(s string) { p.parts = append(p.parts, s) }

func (p *spdx3Paragraphs) list(label string, items []string) {
	if len(items) > 0 {
		p.add(label + ": " + strings.Join(items, "; "))
	}
}

func (p *spdx3Paragraphs) String() string { return strings.Join(p.parts, "\n\n") }

// spdx3FullName is GROUP/NAME, or NAME without a group.
func spdx3FullName(m *Model) string {
	if m.Group != "" {
		return m.Group + "/" + m.Name
	}
	return m.Name
}

// spdx3HubURL is the Hugging Face page of a model id.
func spdx3HubURL(id string) string {
	parts := strings.Split(id, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return "https://huggingface.co/" + path.Join(parts...)
}

// spdx3Time writes a time as SPDX 3's DateTime: UTC, to the second, Z.
func spdx3Time(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// spdx3Decimal writes a float as an xsd:decimal lexical form.
func spdx3Decimal(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// spdx3NonEmpty returns the non-empty values.
func spdx3NonEmpty(values ...string) []string {
	var out []string
	for _, v := range values {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// spdx3FilePurpose is software_primaryPurpose of a file by its kind.
var spdx3FilePurpose = map[string]string{
	KindWeights:   "model",
	KindConfig:    "configuration",
	KindTokenizer: "data",
	KindCode:      "source",
	KindCard:      "documentation",
	KindOther:     "other",
}

// spdx3DatasetType derives dataset_datasetType (required, one of the
// DatasetType vocabulary) from the card's inputs or task: the data a model
// takes is what it was trained and evaluated on. Unknown is noAssertion.
func spdx3DatasetType(c Card) string {
	for _, in := range c.Inputs {
		if t := spdx3Modality(in); t != "" {
			return t
		}
	}
	if t := spdx3Modality(c.Task); t != "" {
		return t
	}
	return "noAssertion"
}

// spdx3Modality maps an input format or a task to a DatasetType.
func spdx3Modality(s string) string {
	s = strings.ToLower(s)
	switch {
	case s == "":
		return ""
	case strings.Contains(s, "video"):
		return "video"
	case strings.Contains(s, "image"), strings.Contains(s, "vision"), strings.Contains(s, "object-detection"),
		strings.Contains(s, "depth-estimation"), strings.Contains(s, "segmentation"):
		return "image"
	case strings.Contains(s, "audio"), strings.Contains(s, "speech"), strings.Contains(s, "voice"):
		return "audio"
	case strings.Contains(s, "time-series"), strings.Contains(s, "timeseries"):
		return "timeseries"
	case strings.Contains(s, "tabular"), strings.Contains(s, "table"):
		return "structured"
	case strings.Contains(s, "graph"):
		return "graph"
	case strings.Contains(s, "text"), strings.Contains(s, "token"), strings.Contains(s, "question"),
		strings.Contains(s, "translation"), strings.Contains(s, "summarization"), strings.Contains(s, "fill-mask"),
		strings.Contains(s, "sentence"), strings.Contains(s, "conversational"), strings.Contains(s, "feature-extraction"):
		return "text"
	}
	return ""
}

// spdx3LicenseIDs are the SPDX license list ids that model cards use, by
// lower case (the hub writes them in lower case).
var spdx3LicenseIDs = func() map[string]string {
	ids := []string{
		"0BSD", "AFL-3.0", "AGPL-3.0-only", "AGPL-3.0-or-later", "Apache-2.0", "Artistic-2.0",
		"BSD-2-Clause", "BSD-3-Clause", "BSD-3-Clause-Clear", "BSL-1.0", "C-UDA-1.0",
		"CC-BY-2.0", "CC-BY-2.5", "CC-BY-3.0", "CC-BY-4.0", "CC-BY-NC-2.0", "CC-BY-NC-3.0", "CC-BY-NC-4.0",
		"CC-BY-NC-ND-3.0", "CC-BY-NC-ND-4.0", "CC-BY-NC-SA-2.0", "CC-BY-NC-SA-3.0", "CC-BY-NC-SA-4.0",
		"CC-BY-ND-4.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0", "CC0-1.0", "CDLA-Permissive-1.0",
		"CDLA-Permissive-2.0", "CDLA-Sharing-1.0", "CreativeML-OpenRAIL-M", "ECL-2.0", "EPL-1.0", "EPL-2.0",
		"EUPL-1.1", "EUPL-1.2", "GFDL-1.3-only", "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only",
		"GPL-3.0-or-later", "ISC", "LGPL-2.1-only", "LGPL-2.1-or-later", "LGPL-3.0-only", "LGPL-3.0-or-later",
		"LPPL-1.3c", "MIT", "MPL-2.0", "MS-PL", "NCSA", "ODbL-1.0", "ODC-By-1.0", "OFL-1.1", "OSL-3.0",
		"PDDL-1.0", "PostgreSQL", "Unlicense", "UPL-1.0", "WTFPL", "Zlib",
	}
	m := make(map[string]string, len(ids))
	for _, id := range ids {
		m[strings.ToLower(id)] = id
	}
	return m
}()

// spdx3LicenseExpression turns a card's license into an SPDX license
// expression: a known SPDX id in its canonical case, NOASSERTION for an
// unknown license, else a LicenseRef- of the name ("llama3.1" becomes
// LicenseRef-llama3.1).
func spdx3LicenseExpression(l string) string {
	if id, ok := spdx3LicenseIDs[strings.ToLower(l)]; ok {
		return id
	}
	switch strings.ToLower(l) {
	case "", "unknown", "noassertion":
		return "NOASSERTION"
	}
	if strings.HasPrefix(l, "LicenseRef-") {
		return l
	}
	var s strings.Builder
	for _, r := range l {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			s.WriteRune(r)
		} else {
			s.WriteByte('-')
		}
	}
	return "LicenseRef-" + s.String()
}

// spdx3FindingStatement is the text of a finding's annotation.
func spdx3FindingStatement(rule, severity, title, message, evidence, location string) string {
	s := severity + " " + rule
	if title != "" {
		s += ": " + title
	}
	if message != "" {
		s += ". " + message
	}
	if evidence != "" {
		s += " Evidence: " + evidence
	}
	return s + " (at " + location + ")"
}
