package discover

import (
	"regexp"
	"strings"
)

// The categories of ML packages: what a project that pulls one does.
const (
	catFramework  = "framework"           // trains and runs models (torch, tensorflow, jax)
	catTraining   = "training"            // training and distribution helpers
	catFineTuning = "fine-tuning"         // fine-tuning and alignment (peft, trl, unsloth)
	catModels     = "models"              // model libraries and hubs (transformers, timm)
	catServing    = "serving"             // inference servers and runtimes (vllm, onnxruntime)
	catLLMClient  = "llm-client"          // hosted model APIs (openai, anthropic)
	catLLMApp     = "llm-app"             // LLM application frameworks (langchain, llama-index)
	catClassical  = "classical-ml"        // scikit-learn, xgboost...
	catTracking   = "experiment-tracking" // mlflow, wandb
	catVector     = "vector-store"        // embeddings stores
	catData       = "data"                // datasets and tokenizers
)

// mlPackages maps normalized (PEP 503) Python package names, and the conda
// names that differ, to their category. A dependency file or a notebook is
// ML when it names one of them.
var mlPackages = map[string]string{
	"torch": catFramework, "pytorch": catFramework, "torchvision": catFramework, "torchaudio": catFramework,
	"tensorflow": catFramework, "tensorflow-gpu": catFramework, "tensorflow-cpu": catFramework, "tf-keras": catFramework,
	"keras": catFramework, "jax": catFramework, "jaxlib": catFramework, "flax": catFramework, "mxnet": catFramework,
	"paddlepaddle": catFramework, "mlx": catFramework, "tf-nightly": catFramework, "torch-xla": catFramework,

	"accelerate": catTraining, "deepspeed": catTraining, "pytorch-lightning": catTraining, "lightning": catTraining,
	"fastai": catTraining, "ray": catTraining, "horovod": catTraining, "optax": catTraining, "xformers": catTraining,
	"flash-attn": catTraining, "bitsandbytes": catTraining, "composer": catTraining, "torchtune": catFineTuning,

	"peft": catFineTuning, "trl": catFineTuning, "unsloth": catFineTuning, "axolotl": catFineTuning,
	"llama-factory": catFineTuning, "llamafactory": catFineTuning, "auto-gptq": catFineTuning, "autoawq": catFineTuning,
	"optimum": catFineTuning, "liger-kernel": catFineTuning,

	"transformers": catModels, "diffusers": catModels, "sentence-transformers": catModels, "timm": catModels,
	"huggingface-hub": catModels, "safetensors": catModels, "keras-nlp": catModels, "keras-hub": catModels,
	"tensorflow-hub": catModels, "open-clip-torch": catModels, "ultralytics": catModels, "spacy": catModels,
	"gensim": catModels, "gguf": catModels, "onnx": catModels, "torchtext": catModels, "whisper": catModels,
	"openai-whisper": catModels, "segment-anything": catModels, "mmdet": catModels, "detectron2": catModels,

	"vllm": catServing, "onnxruntime": catServing, "onnxruntime-gpu": catServing, "tensorrt": catServing,
	"tensorrt-llm": catServing, "openvino": catServing, "llama-cpp-python": catServing, "ctransformers": catServing,
	"text-generation": catServing, "tritonclient": catServing, "torchserve": catServing, "bentoml": catServing,
	"sglang": catServing, "exllamav2": catServing, "mlc-llm": catServing, "ollama": catServing, "tflite-runtime": catServing,
	"coremltools": catServing, "ray-serve": catServing, "kserve": catServing, "lmdeploy": catServing,

	"openai": catLLMClient, "anthropic": catLLMClient, "cohere": catLLMClient, "mistralai": catLLMClient,
	"google-generativeai": catLLMClient, "google-genai": catLLMClient, "groq": catLLMClient, "together": catLLMClient,
	"replicate": catLLMClient, "litellm": catLLMClient, "boto3-bedrock": catLLMClient, "vertexai": catLLMClient,
	"google-cloud-aiplatform": catLLMClient, "fireworks-ai": catLLMClient,

	"langchain": catLLMApp, "langchain-core": catLLMApp, "langchain-community": catLLMApp, "langchain-openai": catLLMApp,
	"langchain-anthropic": catLLMApp, "langchain-huggingface": catLLMApp, "langchain-ollama": catLLMApp,
	"langchain-google-genai": catLLMApp, "langchain-aws": catLLMApp, "langgraph": catLLMApp, "llama-index": catLLMApp,
	"llama-index-core": catLLMApp, "llama-index-llms-openai": catLLMApp, "llama-index-llms-huggingface": catLLMApp,
	"haystack-ai": catLLMApp, "farm-haystack": catLLMApp, "dspy": catLLMApp, "dspy-ai": catLLMApp, "instructor": catLLMApp,
	"guidance": catLLMApp, "semantic-kernel": catLLMApp, "crewai": catLLMApp, "pyautogen": catLLMApp,
	"autogen-agentchat": catLLMApp, "smolagents": catLLMApp, "pydantic-ai": catLLMApp, "openai-agents": catLLMApp,

	"scikit-learn": catClassical, "sklearn": catClassical, "xgboost": catClassical, "lightgbm": catClassical,
	"catboost": catClassical, "statsmodels": catClassical, "prophet": catClassical, "skl2onnx": catClassical,

	"mlflow": catTracking, "wandb": catTracking, "tensorboard": catTracking, "comet-ml": catTracking,
	"neptune": catTracking, "clearml": catTracking, "dvc": catTracking,

	"faiss-cpu": catVector, "faiss-gpu": catVector, "chromadb": catVector, "pinecone-client": catVector,
	"pinecone": catVector, "qdrant-client": catVector, "weaviate-client": catVector, "pymilvus": catVector,
	"lancedb": catVector,

	"datasets": catData, "tokenizers": catData, "sentencepiece": catData, "tiktoken": catData,
}

// mlPrefixes catch the many integration packages of a family
// ("llama-index-llms-ollama", "langchain-mistralai").
var mlPrefixes = []struct{ prefix, category string }{
	{"langchain-", catLLMApp}, {"llama-index-", catLLMApp}, {"torch-", catFramework},
}

// moduleToPackage maps import names that differ from their package's.
var moduleToPackage = map[string]string{
	"sklearn": "scikit-learn", "llama_index": "llama-index", "sentence_transformers": "sentence-transformers",
	"huggingface_hub": "huggingface-hub", "llama_cpp": "llama-cpp-python", "pytorch_lightning": "pytorch-lightning",
	"google.generativeai": "google-generativeai", "google.genai": "google-genai", "tensorflow_hub": "tensorflow-hub",
	"keras_nlp": "keras-nlp", "keras_hub": "keras-hub", "open_clip": "open-clip-torch", "flash_attn": "flash-attn",
	"tensorrt_llm": "tensorrt-llm", "faiss": "faiss-cpu", "qdrant_client": "qdrant-client", "cv2": "",
	"autogen": "pyautogen", "haystack": "haystack-ai", "llamafactory": "llamafactory", "tflite_runtime": "tflite-runtime",
}

var nameSeparators = regexp.MustCompile(`[-_.]+`)

// normalizeName is the PEP 503 form of a package name.
func normalizeName(name string) string {
	return nameSeparators.ReplaceAllString(strings.ToLower(strings.TrimSpace(name)), "-")
}

// mlCategory returns the category of a package, by its normalized name.
func mlCategory(name string) (string, bool) {
	if c, ok := mlPackages[name]; ok {
		return c, true
	}
	for _, p := range mlPrefixes {
		if p.category != "" && strings.HasPrefix(name, p.prefix) {
			return p.category, true
		}
	}
	return "", false
}

// packageOfModule returns the ML package an import statement's module
// comes from ("sklearn.linear_model" -> "scikit-learn").
func packageOfModule(module string) (string, bool) {
	parts := strings.SplitN(module, ".", 3)
	if len(parts) >= 2 {
		if p, ok := moduleToPackage[parts[0]+"."+parts[1]]; ok {
			return p, p != ""
		}
	}
	if p, ok := moduleToPackage[parts[0]]; ok {
		return p, p != ""
	}
	name := normalizeName(parts[0])
	_, ok := mlCategory(name)
	return name, ok
}
