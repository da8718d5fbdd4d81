package discover

import (
	"path"
	"regexp"
	"strings"
)

// Providers of models.
const (
	ProviderHuggingFace = "huggingface"
	ProviderOpenAI      = "openai"
	ProviderAnthropic   = "anthropic"
	ProviderGoogle      = "google"
	ProviderMistral     = "mistral"
	ProviderCohere      = "cohere"
	ProviderOllama      = "ollama"
	ProviderLocal       = "local"
)

// providerModels are the names of hosted models, by provider. A name
// ending in "*" is a prefix.
var providerModels = []struct{ pattern, provider string }{
	{"gpt-3.5*", ProviderOpenAI}, {"gpt-4*", ProviderOpenAI}, {"gpt-5*", ProviderOpenAI}, {"chatgpt-*", ProviderOpenAI},
	{"o1", ProviderOpenAI}, {"o1-*", ProviderOpenAI}, {"o3", ProviderOpenAI}, {"o3-*", ProviderOpenAI}, {"o4-mini*", ProviderOpenAI},
	{"text-embedding-3-*", ProviderOpenAI}, {"text-embedding-ada-*", ProviderOpenAI}, {"text-davinci-*", ProviderOpenAI},
	{"davinci-002", ProviderOpenAI}, {"babbage-002", ProviderOpenAI}, {"dall-e-*", ProviderOpenAI}, {"tts-1*", ProviderOpenAI},
	{"whisper-1", ProviderOpenAI}, {"gpt-image-*", ProviderOpenAI}, {"omni-moderation-*", ProviderOpenAI}, {"ft:*", ProviderOpenAI},
	{"claude-*", ProviderAnthropic}, {"anthropic.claude-*", ProviderAnthropic},
	{"gemini-*", ProviderGoogle}, {"text-bison*", ProviderGoogle}, {"chat-bison*", ProviderGoogle}, {"text-embedding-004", ProviderGoogle},
	{"mistral-large*", ProviderMistral}, {"mistral-medium*", ProviderMistral}, {"mistral-small*", ProviderMistral},
	{"open-mistral-*", ProviderMistral}, {"open-mixtral-*", ProviderMistral}, {"codestral*", ProviderMistral},
	{"ministral-*", ProviderMistral}, {"pixtral-*", ProviderMistral}, {"mistral-embed", ProviderMistral},
	{"command-r*", ProviderCohere}, {"command-a-*", ProviderCohere}, {"command-light*", ProviderCohere},
	{"embed-english-*", ProviderCohere}, {"embed-multilingual-*", ProviderCohere},
}

// providerOf returns the provider of a hosted model name, if it is one.
func providerOf(name string) (string, bool) {
	for _, m := range providerModels {
		if p, ok := strings.CutSuffix(m.pattern, "*"); ok && strings.HasPrefix(name, p) || name == m.pattern {
			return m.provider, true
		}
	}
	return "", false
}

// routedProviders are the "provider/model" prefixes of routers such as
// LiteLLM; the model after the slash must be a known hosted name.
var routedProviders = map[string]bool{
	"openai": true, "anthropic": true, "gemini": true, "vertex_ai": true, "azure": true, "bedrock": true,
	"mistral": true, "cohere": true, "groq": true, "together_ai": true, "openrouter": true,
}

// legacyHubIDs are the canonical Hugging Face models that predate
// organizations and are still loaded by bare name.
var legacyHubIDs = map[string]bool{
	"gpt2": true, "gpt2-medium": true, "gpt2-large": true, "gpt2-xl": true, "distilgpt2": true,
	"bert-base-uncased": true, "bert-base-cased": true, "bert-large-uncased": true, "bert-large-cased": true,
	"bert-base-multilingual-cased": true, "bert-base-multilingual-uncased": true, "bert-base-chinese": true,
	"distilbert-base-uncased": true, "distilbert-base-cased": true, "distilbert-base-uncased-finetuned-sst-2-english": true,
	"roberta-base": true, "roberta-large": true, "distilroberta-base": true, "xlm-roberta-base": true, "xlm-roberta-large": true,
	"t5-small": true, "t5-base": true, "t5-large": true, "t5-3b": true, "t5-11b": true, "albert-base-v2": true,
	"albert-large-v2": true, "xlnet-base-cased": true, "bart-large": true, "openai-gpt": true, "ctrl": true,
}

// localDirs are first path parts that make "dir/name" a local folder
// rather than a hub repository.
var localDirs = map[string]bool{
	"models": true, "model": true, "checkpoints": true, "checkpoint": true, "output": true, "outputs": true, "out": true,
	"data": true, "src": true, "weights": true, "runs": true, "results": true, "tmp": true, "artifacts": true, "saved_models": true,
}

// fileExts that end a "dir/file" string: a path to a file, not a repository.
var fileExts = map[string]bool{
	".json": true, ".py": true, ".txt": true, ".csv": true, ".yaml": true, ".yml": true, ".md": true, ".bin": true,
	".pt": true, ".pth": true, ".safetensors": true, ".gguf": true, ".onnx": true, ".pkl": true, ".h5": true,
	".jsonl": true, ".parquet": true, ".html": true, ".png": true, ".jpg": true, ".zip": true, ".gz": true, ".log": true,
}

var (
	hubIDRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$`)
	bareIDRe  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$`)
	ollamaRe  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}(?:/[a-z0-9][a-z0-9._-]{0,63})?(?::[A-Za-z0-9._-]{1,64})?$`)
	localPath = regexp.MustCompile(`^(?:\.{1,2}/|/|~/|[A-Za-z]:[\\/])`)
)

// idPolicy says which strings an argument or key accepts as model ids.
type idPolicy struct {
	hub    bool   // "org/name" Hugging Face ids
	legacy bool   // bare canonical hub names ("gpt2")
	st     bool   // bare sentence-transformers names ("all-MiniLM-L6-v2")
	local  bool   // local paths ("./out", "/models/x", "models/x")
	forced string // every plausible name is this provider's (ollama)
}

// classifyID decides whether s names a model under policy p, and returns
// the id (normalized) and its provider.
func classifyID(s string, p idPolicy) (string, string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 200 || strings.ContainsAny(s, " \t\n{}<>|\"'`$%") || strings.Contains(s, "://") {
		return "", "", false
	}
	if p.forced == ProviderOllama {
		if ollamaRe.MatchString(s) {
			return s, ProviderOllama, true
		}
		return "", "", false
	}
	if prov, ok := providerOf(s); ok {
		return s, prov, true
	}
	if p.local && localPath.MatchString(s) {
		return s, ProviderLocal, true
	}
	if hubIDRe.MatchString(s) && !strings.Contains(s, "..") {
		org, name, _ := strings.Cut(s, "/")
		if routedProviders[strings.ToLower(org)] {
			if prov, ok := providerOf(name); ok {
				return s, prov, true
			}
		}
		switch {
		case fileExts[strings.ToLower(path.Ext(name))]:
			if p.local {
				return s, ProviderLocal, true
			}
			return "", "", false
		case localDirs[strings.ToLower(org)]:
			if p.local {
				return s, ProviderLocal, true
			}
			return "", "", false
		case p.hub:
			return s, ProviderHuggingFace, true
		}
		return "", "", false
	}
	if bareIDRe.MatchString(s) {
		switch {
		case p.legacy && legacyHubIDs[s]:
			return s, ProviderHuggingFace, true
		case p.st && strings.Contains(s, "-") && strings.IndexFunc(s, func(r rune) bool { return r >= '0' && r <= '9' }) >= 0:
			return "sentence-transformers/" + s, ProviderHuggingFace, true
		}
	}
	return "", "", false
}
