package deps

import "testing"

func TestTyposquat(t *testing.T) {
	for _, tc := range []struct{ name, target, how string }{
		{"urlib3", "urllib3", SquatKnown},
		{"colourama", "colorama", SquatKnown},
		{"jeIlyfish", "jellyfish", SquatKnown},
		{"python3-dateutil", "python-dateutil", SquatKnown},
		{"diango", "django", SquatKnown},
		{"scikitlearn", "scikit-learn", SquatSeparator},
		{"huggingfacehub", "huggingface-hub", SquatSeparator},
		{"lang-chain", "langchain", SquatSeparator},
		{"python-transformers", "transformers", SquatAffix},
		{"pytransformers", "transformers", SquatAffix},
		{"numpy-py", "numpy", SquatAffix},
		{"t0rch", "torch", SquatConfusable},
		{"0nnx", "onnx", SquatConfusable},
		{"ultraiytics", "ultralytics", SquatConfusable},
		{"tensorfIow", "tensorflow", SquatConfusable},
		{"transformer", "transformers", SquatEdit},
		{"transfomers", "transformers", SquatEdit},
		{"langchainn", "langchain", SquatEdit},
		{"tensorfolw", "tensorflow", SquatTranspose},
		{"pnadas", "pandas", SquatTranspose},
		{"openia", "openai", SquatTranspose},
		{"bitsandbites", "bitsandbytes", SquatEdit},
	} {
		target, how, ok := Typosquat(tc.name)
		if !ok || target != tc.target || how != tc.how {
			t.Errorf("Typosquat(%q) = %q, %q, %v; want %q, %q", tc.name, target, how, ok, tc.target, tc.how)
		}
	}
	for _, name := range []string{
		"torch", "Torch", "scikit_learn", "Scikit.Learn", "huggingface_hub", "datasets", "dataset",
		"sklearn", "pytorch", "scapy", "torchtriton", "openapi", "my-internal-lib", "trl", "ray",
		"jax", "flax", "peft", "rays", "requests", "faiss-gpu", "onnxruntime-gpu", "",
	} {
		if target, how, ok := Typosquat(name); ok {
			t.Errorf("Typosquat(%q) = %q, %q: false positive", name, target, how)
		}
	}
}

func TestTyposquatListClean(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range popularPackages {
		if PEP503Name(p) != p {
			t.Errorf("%q is not in PEP 503 form", p)
		}
		if seen[p] {
			t.Errorf("%q listed twice", p)
		}
		seen[p] = true
		if target, how, ok := Typosquat(p); ok {
			t.Errorf("popular %q flagged as %s of %q", p, how, target)
		}
	}
	if len(popularPackages) < 150 {
		t.Errorf("only %d popular packages", len(popularPackages))
	}
	for name, reason := range legitNearNames {
		if reason == "" || PEP503Name(name) != name {
			t.Errorf("allowlist entry %q", name)
		}
	}
	for squat, target := range knownSquats {
		if !popularSet[target] || PEP503Name(squat) != squat {
			t.Errorf("known squat %q -> %q", squat, target)
		}
	}
}
