package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/violet-mlsecops/violet/jobs"
	"github.com/violet-mlsecops/violet/report"
	"github.com/violet-mlsecops/violet/sign"
	"github.com/violet-mlsecops/violet/source"
)

// verifyRemote verifies a remote model. An oci:// model is checked
// against the bundles attached to its manifest (or --signature) from its
// layer digests where it can; an hf:// or s3:// model is fetched into a
// temporary folder (removed) and verified there.
func verifyRemote(ctx context.Context, o *verifyOptions, v sign.Verifier, location string) (verifyReport, error) {
	opts := o.sources.options()
	if strings.HasPrefix(location, source.SchemeOCI) {
		return verifyOCI(ctx, o, v, location, opts)
	}
	f, err := fetchRemote(ctx, location, opts)
	if err != nil {
		return verifyReport{}, fetchError(location, err)
	}
	defer os.RemoveAll(f.dir)
	model := f.dir
	if f.single != "" {
		model = filepath.Join(f.dir, filepath.FromSlash(f.single))
	}
	if o.upload.url != "" {
		// The version is hashed now: the folder is removed before the
		// report is uploaded.
		digest, files, err := hashVersion(ctx, model)
		if err != nil {
			return verifyReport{}, err
		}
		o.upload.version = &uploadVersion{digest: digest, files: files}
	}
	sigPath := o.signature
	if sigPath == "" {
		sigPath = sign.DefaultSignaturePath(model)
	}
	rep := verifyReport{Model: f.location, Signature: o.signature, CertStart: o.verifyTime == verifyTimeCertStart}
	if rep.Signature == "" {
		rep.Signature = f.name(sigPath)
	}
	data, err := os.ReadFile(sigPath)
	if err != nil {
		return rep, exitError{code: report.ExitIncomplete, msg: fmt.Sprintf("cannot read the signature %s: %v", rep.Signature, err)}
	}
	b, err := sign.ParseBundle(data)
	var res *sign.Result
	if err == nil {
		res, err = sign.VerifyModel(ctx, model, b, v, sign.VerifyOptions{
			IgnorePaths: o.ignorePaths, IgnoreUnsignedFiles: o.ignoreUnsigned, SignaturePath: sigPath})
	}
	return rep, fillVerifyReport(&rep, b, v, res, err)
}

// fillVerifyReport records a verification's outcome in rep; an error that
// is not about the signature is returned (exit 2).
func fillVerifyReport(rep *verifyReport, b *sign.Bundle, v sign.Verifier, res *sign.Result, err error) error {
	if err := rep.Fill(b, v, res, err); err != nil {
		return exitError{code: report.ExitIncomplete, msg: err.Error()}
	}
	return nil
}

// verifyOCI verifies an OCI model artifact: each attached bundle is tried
// until one is trusted (or --signature).
func verifyOCI(ctx context.Context, o *verifyOptions, v sign.Verifier, location string, opts source.Options) (verifyReport, error) {
	src, err := source.OpenOCI(ctx, location, opts)
	if err != nil {
		return verifyReport{}, fetchError(location, err)
	}
	defer src.Close()
	rep := verifyReport{Model: src.Location(), CertStart: o.verifyTime == verifyTimeCertStart}
	if o.upload.url != "" {
		// The version from the layer digests: no layer is pulled for it.
		entries, err := src.List(ctx)
		if err != nil {
			return rep, fetchError(location, err)
		}
		digest, files, err := jobs.ListedVersion(entries)
		if err != nil {
			return rep, exitError{code: report.ExitIncomplete, msg: fmt.Sprintf("--upload: the version of %s: %v (scan it with violet scan --upload, which pulls it)", rep.Model, err)}
		}
		o.upload.version = &uploadVersion{digest: digest, files: files}
	}
	var bundles []source.OCIBundle
	if o.signature != "" {
		data, err := os.ReadFile(o.signature)
		if err != nil {
			return rep, exitError{code: report.ExitIncomplete, msg: fmt.Sprintf("cannot read the signature: %v", err)}
		}
		bundles = []source.OCIBundle{{Digest: o.signature, Data: data}}
	} else {
		bundles, err = src.Bundles(ctx)
		if err != nil {
			return rep, fetchError(location, err)
		}
		if len(bundles) == 0 {
			return rep, exitError{code: report.ExitIncomplete, msg: fmt.Sprintf("%s: no signature is attached to the manifest (a Sigstore bundle referrer): pass --signature", rep.Model)}
		}
	}
	for i, bundle := range bundles {
		rep.Signature = bundle.Digest
		if o.signature == "" {
			rep.Signature = "referrer " + bundle.Digest
		}
		rep.SignatureError, rep.NotDownloaded = "", nil
		b, err := sign.ParseBundle(bundle.Data)
		var res *source.OCIVerifyResult
		if err == nil {
			res, err = source.VerifyOCI(ctx, src, b, v, opts.Limits)
		}
		var result *sign.Result
		if res != nil {
			result = &res.Result
			rep.NotDownloaded = res.NotDownloaded
		}
		if err := fillVerifyReport(&rep, b, v, result, err); err != nil {
			return rep, err
		}
		if rep.SignatureError == "" || i == len(bundles)-1 {
			break
		}
	}
	return rep, nil
}

// writeNotDownloaded says which files of an OCI model were checked by
// their layer digest alone.
func writeNotDownloaded(w io.Writer, r verifyReport) {
	if len(r.NotDownloaded) == 0 {
		return
	}
	safe := make([]string, len(r.NotDownloaded))
	for i, f := range r.NotDownloaded {
		safe[i] = report.SafeText(f)
	}
	fmt.Fprintf(w, "Checked from the OCI manifest's layer digests, not downloaded: %s\n", strings.Join(safe, ", "))
}
