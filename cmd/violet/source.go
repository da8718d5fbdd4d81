package main

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/source"
	"github.com/violet-mlsecops/violet/store"
)

// sourceOptions are the flags of the remote sources (docs/sources.md).
// Secrets come from the environment only: HF_TOKEN, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; registry credentials from the
// Docker configuration.
type sourceOptions struct {
	hfEndpoint                string
	s3Endpoint, s3Region      string
	s3PlainHTTP               bool
	ociPlainHTTP, ociInsecure bool
}

// addFlags adds the flags of the remote sources.
func (o *sourceOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.hfEndpoint, "hf-endpoint", "", "the Hugging Face API or a mirror of it, for hf:// locations (`URL`; default $HF_ENDPOINT, else https://huggingface.co)")
	f.StringVar(&o.s3Endpoint, "s3-endpoint", "", "the S3-compatible service for s3:// locations (`URL`; default $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, else AWS)")
	f.StringVar(&o.s3Region, "s3-region", "", "the region of s3:// locations (default $AWS_REGION, $AWS_DEFAULT_REGION)")
	f.BoolVar(&o.s3PlainHTTP, "s3-plain-http", false, "speak HTTP, not HTTPS, to --s3-endpoint (a local store)")
	f.BoolVar(&o.ociPlainHTTP, "oci-plain-http", false, "speak HTTP, not HTTPS, to the registry of oci:// locations (a local registry)")
	f.BoolVar(&o.ociInsecure, "oci-insecure", false, "accept any TLS certificate from the registry of oci:// locations")
}

// options returns the sources' options from the flags and the
// environment.
func (o *sourceOptions) options() source.Options {
	first := func(vals ...string) string {
		for _, v := range vals {
			if v != "" {
				return v
			}
		}
		return ""
	}
	return source.Options{
		HFEndpoint:     first(o.hfEndpoint, os.Getenv("HF_ENDPOINT")),
		HFToken:        first(os.Getenv("HF_TOKEN"), os.Getenv("HUGGING_FACE_HUB_TOKEN")),
		S3Endpoint:     first(o.s3Endpoint, os.Getenv("AWS_ENDPOINT_URL_S3"), os.Getenv("AWS_ENDPOINT_URL")),
		S3Region:       first(o.s3Region, os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION")),
		S3AccessKey:    os.Getenv("AWS_ACCESS_KEY_ID"),
		S3SecretKey:    os.Getenv("AWS_SECRET_ACCESS_KEY"),
		S3SessionToken: os.Getenv("AWS_SESSION_TOKEN"),
		S3PlainHTTP:    o.s3PlainHTTP,
		OCIPlainHTTP:   o.ociPlainHTTP,
		OCIInsecure:    o.ociInsecure,
	}
}

// fetched is a remote model copied into a private temporary folder.
type fetched struct {
	// location is the pinned location (Source.Location).
	location string
	// version is the source's version, "" when it names none.
	version string
	// dir is the temporary folder.
	dir string
	// single is set when the location names one file (an S3 object):
	// the report names it by the location itself.
	single string
}

// fetchRemote opens location and copies its files into a new private
// temporary folder; the caller removes f.dir.
func fetchRemote(ctx context.Context, location string, opts source.Options) (*fetched, error) {
	src, err := source.Open(ctx, location, opts)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dir, err := os.MkdirTemp("", "violet-source-")
	if err != nil {
		return nil, err
	}
	f := &fetched{location: src.Location(), dir: dir}
	if v, ok := src.(source.Versioned); ok {
		f.version = v.Version()
	}
	entries, err := source.Fetch(ctx, src, dir, opts.Limits)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if len(entries) == 1 && path.Base(f.location) == entries[0].Path {
		f.single = entries[0].Path
	}
	return f, nil
}

// name is the report's name of a path under f.dir: the location joined
// with the path inside the model.
func (f *fetched) name(p string) string {
	rel, err := filepath.Rel(f.dir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return p
	}
	rel = filepath.ToSlash(rel)
	if rel == "." || rel == f.single {
		return f.location
	}
	return strings.TrimSuffix(f.location, "/") + "/" + rel
}

// renameReport rewrites the paths of a report of f.dir to name the
// location: targets, files, finding locations, and the temporary folder
// where a message quotes it.
func (f *fetched) renameReport(r *report.Report) {
	for i, t := range r.Targets {
		if t == f.dir {
			r.Targets[i] = f.location
		}
	}
	for i := range r.Files {
		file := &r.Files[i]
		file.Path = f.name(file.Path)
		for j := range file.Findings {
			x := &file.Findings[j]
			if x.Location.Path != "" {
				x.Location.Path = f.name(x.Location.Path)
			}
			x.Message = strings.ReplaceAll(x.Message, f.dir, f.location)
			x.Evidence = strings.ReplaceAll(x.Evidence, f.dir, f.location)
		}
	}
}

// sourceRef is how the server's inventory names where a location is:
// a Hugging Face repository, a registry reference, or a path (a local
// path, an s3:// location); and the model's default name.
func sourceRef(location string) (kind, ref, name string) {
	switch {
	case strings.HasPrefix(location, source.SchemeHF):
		repo, _, err := source.ParseHF(location)
		if err == nil {
			return store.SourceHuggingFace, repo, path.Base(repo)
		}
	case strings.HasPrefix(location, source.SchemeOCI):
		ref := strings.TrimPrefix(location, source.SchemeOCI)
		repo := ref
		if i := strings.Index(repo, "@"); i >= 0 {
			repo = repo[:i]
		} else if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
			repo = repo[:i]
		}
		return store.SourceRegistry, ref, path.Base(repo)
	}
	return store.SourcePath, location, path.Base(strings.TrimSuffix(location, "/"))
}

// fetchError is the error of a remote location that could not be read:
// exit 2, never a pass.
func fetchError(location string, err error) error {
	return exitError{code: report.ExitIncomplete, msg: fmt.Sprintf("cannot read %s: %v", location, err)}
}

// fetchTargets copies each remote target into a temporary folder and
// returns the targets to scan (a local target as given), the fetched
// models, and a function that removes their folders.
func fetchTargets(ctx context.Context, targets []string, opts source.Options) ([]string, []*fetched, func(), error) {
	var all []*fetched
	cleanup := func() {
		for _, f := range all {
			os.RemoveAll(f.dir)
		}
	}
	out := make([]string, len(targets))
	for i, t := range targets {
		if !source.IsRemote(t) && !strings.Contains(t, "://") {
			out[i] = t
			continue
		}
		f, err := fetchRemote(ctx, t, opts)
		if err != nil {
			cleanup()
			return nil, nil, func() {}, fetchError(t, err)
		}
		all = append(all, f)
		out[i] = f.dir
	}
	return out, all, cleanup, nil
}
