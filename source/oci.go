package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/klauspost/compress/zstd"
)

// Annotations and media types of model artifacts in OCI registries
// (docs/sources.md cites the specifications).
const (
	// AnnotationFilepath is CNCF ModelPack's path of a layer's file or
	// folder in the model.
	AnnotationFilepath = "org.cncf.model.filepath"
	// AnnotationTitle is the OCI file name of a layer (ORAS writes it).
	AnnotationTitle = "org.opencontainers.image.title"
	// annotationORASUnpack marks a layer ORAS made by archiving a folder.
	annotationORASUnpack = "io.deis.oras.content.unpack"
	// MediaTypeSigstoreBundle prefixes the artifact type of a Sigstore
	// bundle attached to a manifest as a referrer (OMS signatures are
	// Sigstore bundles).
	MediaTypeSigstoreBundle = "application/vnd.dev.sigstore.bundle"
)

// OCIManifest is what Violet reads of an OCI image manifest.
type OCIManifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        OCIDescriptor     `json:"config"`
	Layers        []OCIDescriptor   `json:"layers"`
	Manifests     []OCIDescriptor   `json:"manifests"`
	Subject       *OCIDescriptor    `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// OCIDescriptor is a content descriptor.
type OCIDescriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// ParseOCIManifest reads an image manifest (not an index) and checks what
// Violet relies on: sha256 digests, sizes that are not negative, at most
// maxLayers layers.
func ParseOCIManifest(b []byte, maxLayers int) (*OCIManifest, error) {
	var m OCIManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if m.SchemaVersion != 2 {
		return nil, fmt.Errorf("manifest: schemaVersion %d, want 2", m.SchemaVersion)
	}
	if len(m.Manifests) > 0 || strings.Contains(m.MediaType, "index") || strings.Contains(m.MediaType, "manifest.list") {
		return nil, errors.New("manifest: an index of manifests (name one of them by its digest)")
	}
	if len(m.Layers) > maxLayers {
		return nil, fmt.Errorf("manifest: %d layers, more than the limit of %d", len(m.Layers), maxLayers)
	}
	for _, l := range m.Layers {
		if _, ok := sha256Hex(l.Digest); !ok {
			return nil, fmt.Errorf("manifest: layer digest %q is not sha256:<64 hex digits>", l.Digest)
		}
		if l.Size < 0 {
			return nil, fmt.Errorf("manifest: layer %s has size %d", l.Digest, l.Size)
		}
	}
	return &m, nil
}

// singleManifest reads an index: the digest of its one manifest (build
// attestations left out), ok false when raw is not an index, an error
// naming the digests when it lists several.
func singleManifest(raw []byte) (string, bool, error) {
	var idx struct {
		MediaType string          `json:"mediaType"`
		Manifests []OCIDescriptor `json:"manifests"`
	}
	if json.Unmarshal(raw, &idx) != nil || len(idx.Manifests) == 0 {
		return "", false, nil
	}
	var digests []string
	for _, m := range idx.Manifests {
		if m.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			continue
		}
		if _, ok := sha256Hex(m.Digest); !ok {
			return "", false, fmt.Errorf("index: manifest digest %q is not sha256", m.Digest)
		}
		digests = append(digests, m.Digest)
	}
	if len(digests) != 1 {
		if len(digests) > 5 {
			digests = append(digests[:5], "...")
		}
		return "", false, fmt.Errorf("an index of %d manifests: name one by its digest (%s)", len(digests), strings.Join(digests, ", "))
	}
	return digests[0], true, nil
}

// sha256Hex returns the hex of a "sha256:<hex>" digest.
func sha256Hex(d string) (string, bool) {
	h, ok := strings.CutPrefix(d, "sha256:")
	return h, ok && isHexDigest(h)
}

// LayerKind says how a layer holds its file: one file as it is, or an
// archive of files (tar, tar+gzip, tar+zstd).
type LayerKind int

// The layer kinds.
const (
	// LayerFile is one file: the layer's digest is the file's SHA-256.
	LayerFile LayerKind = iota
	// LayerTar is a tar archive, handed whole to the scanner.
	LayerTar
	// LayerTarGzip is a gzip-compressed tar archive, handed whole.
	LayerTarGzip
	// LayerTarZstd is a zstd-compressed tar archive: it is decompressed
	// (bounded) into a tar, since the scanner does not read zstd.
	LayerTarZstd
)

// OCILayer is one layer of a model artifact and the file it becomes.
type OCILayer struct {
	OCIDescriptor
	// Path is the file's path in the fetched model.
	Path string
	// Kind is how the layer holds its content.
	Kind LayerKind
}

// layerKind is the kind of a layer's media type: "+gzip", ".tar+gzip",
// ".tar.gzip", ".tar" and "+zstd" suffixes of ModelPack, KitOps, Docker and
// OCI image layers.
func layerKind(mediaType string) LayerKind {
	mt := strings.ToLower(mediaType)
	switch {
	case strings.HasSuffix(mt, "+zstd") || strings.HasSuffix(mt, ".zstd"):
		return LayerTarZstd
	case strings.HasSuffix(mt, "+gzip") || strings.HasSuffix(mt, ".gzip") || strings.HasSuffix(mt, ".tar.gz"):
		return LayerTarGzip
	case strings.HasSuffix(mt, ".tar") || strings.HasSuffix(mt, "diff.tar"):
		return LayerTar
	}
	return LayerFile
}

// OCILayers names the file of each layer: the ModelPack file path
// annotation, else the OCI title, else a name made of the media type's
// kind and the digest ("model-<12 hex>.gguf"). An archive layer's name
// ends in .tar, .tar.gz (or .tar for zstd, decompressed). A name that is
// not a clean relative path is an error, and so are two layers of one
// name.
func OCILayers(m *OCIManifest) ([]OCILayer, error) {
	var out []OCILayer
	for _, l := range m.Layers {
		kind := layerKind(l.MediaType)
		if kind != LayerFile && l.Annotations[AnnotationTitle] != "" && l.Annotations[AnnotationFilepath] == "" &&
			strings.HasPrefix(l.MediaType, "application/vnd.oci.image.layer.") && l.Annotations[annotationORASUnpack] != "true" {
			// ORAS pushes a file as it is, under the generic layer media
			// type; it marks the tarballs of folders it made.
			kind = LayerFile
		}
		hexd, _ := sha256Hex(l.Digest)
		p := l.Annotations[AnnotationFilepath]
		if p == "" {
			p = l.Annotations[AnnotationTitle]
		}
		p = strings.TrimSuffix(p, "/")
		if p == "" {
			p = layerStem(l.MediaType) + "-" + hexd[:12] + layerExt(l.MediaType)
		}
		if err := CheckPath(p); err != nil {
			return nil, fmt.Errorf("layer %s: %w", l.Digest, err)
		}
		switch kind {
		case LayerTar, LayerTarZstd:
			if !strings.HasSuffix(p, ".tar") {
				p += ".tar"
			}
		case LayerTarGzip:
			if !strings.HasSuffix(p, ".tar.gz") && !strings.HasSuffix(p, ".tgz") {
				p += ".tar.gz"
			}
		}
		out = append(out, OCILayer{OCIDescriptor: l, Path: p, Kind: kind})
	}
	seen := map[string]bool{}
	for _, l := range out {
		if seen[l.Path] {
			return nil, fmt.Errorf("two layers are named %q", l.Path)
		}
		seen[l.Path] = true
	}
	return out, nil
}

// layerStem is the kind of content a media type names: "model",
// "weight", "code", "dataset", ... (the word after modelkit., model. or
// ai.), or "layer".
func layerStem(mediaType string) string {
	for _, prefix := range []string{"application/vnd.kitops.modelkit.", "application/vnd.cncf.model.", "application/vnd.docker.ai."} {
		if rest, ok := strings.CutPrefix(mediaType, prefix); ok {
			word, _, _ := strings.Cut(rest, ".")
			if word != "" && strings.Trim(word, "abcdefghijklmnopqrstuvwxyz-") == "" {
				return word
			}
		}
	}
	return "layer"
}

// layerExt is the extension of a one-file layer of a known format.
func layerExt(mediaType string) string {
	mt := strings.ToLower(mediaType)
	for _, f := range []string{"gguf", "safetensors", "onnx", "dduf"} {
		if strings.Contains(mt, "."+f) || strings.Contains(mt, "+"+f) {
			return "." + f
		}
	}
	return ""
}

// oci is a model artifact in an OCI registry, pinned to its manifest's
// digest.
type oci struct {
	reg      *registry
	ref      name.Digest
	digest   string
	manifest *OCIManifest
	layers   []OCILayer
	byPath   map[string]OCILayer
	lim      Limits
}

// ParseOCI parses oci://host/repo:tag or oci://host/repo@sha256:...
func ParseOCI(location string, plainHTTP bool) (name.Reference, error) {
	rest, ok := strings.CutPrefix(location, SchemeOCI)
	if !ok {
		return nil, fmt.Errorf("%q: not an %s location", location, SchemeOCI)
	}
	var nopts []name.Option
	if plainHTTP {
		nopts = append(nopts, name.Insecure)
	}
	nopts = append(nopts, name.StrictValidation)
	if !strings.Contains(rest, "@") && !strings.Contains(rest[strings.LastIndex(rest, "/")+1:], ":") {
		return nil, fmt.Errorf("%q: name a tag (:tag) or a digest (@sha256:...)", location)
	}
	ref, err := name.ParseReference(rest, nopts...)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", location, err)
	}
	return ref, nil
}

// openOCI resolves the tag to the manifest's digest and reads the
// manifest (no layer is pulled).
func openOCI(ctx context.Context, location string, opts Options) (Source, error) {
	return OpenOCI(ctx, location, opts)
}

// OpenOCI is Open for an oci:// location, with the artifact's manifest
// and layers available (Manifest, Layers) without pulling a layer.
func OpenOCI(ctx context.Context, location string, opts Options) (*OCISource, error) {
	opts.Limits = opts.Limits.WithDefaults()
	ref, err := ParseOCI(location, opts.OCIPlainHTTP)
	if err != nil {
		return nil, err
	}
	reg := newRegistry(ref, opts)
	raw, digest, err := reg.manifest(ctx, ref.Identifier())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", location, err)
	}
	if one, ok, err := singleManifest(raw); err != nil {
		return nil, fmt.Errorf("%s: %w", location, err)
	} else if ok {
		// An index of one model manifest: that manifest.
		if raw, digest, err = reg.manifest(ctx, one); err != nil {
			return nil, fmt.Errorf("%s: %w", location, err)
		}
	}
	m, err := ParseOCIManifest(raw, opts.Limits.MaxFiles)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", location, err)
	}
	layers, err := OCILayers(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", location, err)
	}
	o := &oci{reg: reg, ref: ref.Context().Digest(digest), digest: digest, manifest: m, layers: layers,
		byPath: map[string]OCILayer{}, lim: opts.Limits}
	for _, l := range layers {
		o.byPath[l.Path] = l
	}
	if err := checkEntries(o.entries(), opts.Limits); err != nil {
		return nil, fmt.Errorf("%s: %w", location, err)
	}
	return &OCISource{o}, nil
}

// OCISource is an OCI model artifact: a Source whose manifest and layers
// can be read without pulling a layer.
type OCISource struct{ *oci }

// Location is oci://host/repo@sha256:...
func (o *oci) Location() string { return SchemeOCI + o.ref.String() }

// Version is the manifest's digest.
func (o *oci) Version() string { return o.digest }

// Manifest is the artifact's manifest.
func (o *OCISource) Manifest() *OCIManifest { return o.manifest }

// Layers are the artifact's layers and the files they become.
func (o *OCISource) Layers() []OCILayer { return append([]OCILayer(nil), o.layers...) }

// Reference is the manifest's digest reference (host/repo@sha256:...).
func (o *OCISource) Reference() name.Digest { return o.ref }

// entries lists the layers' files: a one-file layer, or a tar layer
// handed whole, is its blob (size and digest known); a zstd one is
// decompressed (neither known).
func (o *oci) entries() []Entry {
	out := make([]Entry, 0, len(o.layers))
	for _, l := range o.layers {
		e := Entry{Path: l.Path, Size: l.Size}
		if l.Kind == LayerTarZstd {
			e.Size = -1
		} else {
			e.SHA256, _ = sha256Hex(l.Digest)
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// List returns the layers' files.
func (o *oci) List(context.Context) ([]Entry, error) { return o.entries(), nil }

// Open pulls the blob of the layer of that file (a zstd layer is
// decompressed, at most MaxFileSize bytes).
func (o *oci) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	l, ok := o.byPath[p]
	if !ok {
		return nil, fmt.Errorf("%s: no file %q", o.Location(), p)
	}
	rc, err := o.reg.blob(ctx, l.Digest)
	if err != nil {
		return nil, err
	}
	if l.Kind != LayerTarZstd {
		return rc, nil
	}
	zr, err := zstd.NewReader(rc, zstd.WithDecoderMaxMemory(1<<30), zstd.WithDecoderConcurrency(1))
	if err != nil {
		rc.Close()
		return nil, err
	}
	return &zstdBody{Decoder: zr, rc: rc}, nil
}

// OpenRange pulls the blob of a file's layer from offset (a range
// request): Fetch resumes a cut download with it and checks the whole
// file's SHA-256 against the layer's digest. A zstd layer, decompressed
// as it streams, cannot be resumed.
func (o *oci) OpenRange(ctx context.Context, p string, offset int64) (io.ReadCloser, error) {
	if offset == 0 {
		return o.Open(ctx, p)
	}
	l, ok := o.byPath[p]
	if !ok {
		return nil, fmt.Errorf("%s: no file %q", o.Location(), p)
	}
	if l.Kind == LayerTarZstd {
		return nil, fmt.Errorf("%s: %s: a zstd layer cannot be resumed", o.Location(), p)
	}
	return o.reg.blobFrom(ctx, l.Digest, offset, l.Size)
}

// zstdBody closes the decoder and the blob.
type zstdBody struct {
	*zstd.Decoder
	rc io.ReadCloser
}

func (z *zstdBody) Close() error {
	z.Decoder.Close()
	return z.rc.Close()
}

// Close does nothing: the registry client holds nothing open.
func (o *oci) Close() error { return nil }

// OCITags lists the tags of the repository of an oci:// location (its tag
// or digest, if any, is ignored): watch mode scans new tags.
func OCITags(ctx context.Context, location string, opts Options) ([]string, error) {
	opts.Limits = opts.Limits.WithDefaults()
	rest := strings.TrimPrefix(location, SchemeOCI)
	var nopts []name.Option
	if opts.OCIPlainHTTP {
		nopts = append(nopts, name.Insecure)
	}
	repo, err := name.NewRepository(strings.SplitN(stripOCITag(rest), "@", 2)[0], nopts...)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", location, err)
	}
	tags, err := newRegistry(repo.Tag("latest"), opts).tags(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", location, err)
	}
	sort.Strings(tags)
	return tags, nil
}

// stripOCITag drops a ":tag" after the last slash.
func stripOCITag(ref string) string {
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		return ref[:i]
	}
	return ref
}

// OCIRepository is the oci:// location of the repository of location,
// without tag or digest.
func OCIRepository(location string) string {
	rest := strings.TrimPrefix(location, SchemeOCI)
	rest, _, _ = strings.Cut(rest, "@")
	return SchemeOCI + path.Clean(stripOCITag(rest))
}
