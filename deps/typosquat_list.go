package deps

// popularPackages are the PEP 503 names of popular Python packages of
// the ML/AI stack that typosquats imitate. Sources: the ML stack of the
// PyTorch, Hugging Face, JAX, TensorFlow, LangChain/LlamaIndex and LLM
// serving ecosystems, cross-checked against the most downloaded PyPI
// projects (PyPI BigQuery download statistics as published by
// hugovk/top-pypi-packages), plus core packages every ML project pulls
// in (numpy, requests, pyyaml, ...) and the targets of the known squats
// below. Curated by hand; keep it sorted by area.
var popularPackages = []string{
	// PyTorch
	"torch", "torchvision", "torchaudio", "torchtext", "torchdata", "torchmetrics",
	"pytorch-lightning", "lightning", "triton", "pytorch-triton", "functorch", "torchserve",
	"torch-geometric", "torchao", "torchtune",
	// Hugging Face
	"transformers", "tokenizers", "datasets", "accelerate", "peft", "trl", "safetensors",
	"huggingface-hub", "diffusers", "evaluate", "optimum", "sentence-transformers",
	"hf-transfer", "text-generation", "timm", "gradio", "gradio-client", "smolagents",
	// Fine-tuning, quantization, kernels
	"unsloth", "bitsandbytes", "auto-gptq", "autoawq", "xformers", "flash-attn", "deepspeed",
	"apex", "einops", "sentencepiece", "tiktoken", "liger-kernel", "axolotl",
	// LLM serving and clients
	"vllm", "sglang", "llama-cpp-python", "ctransformers", "text-generation-inference",
	"openai", "anthropic", "cohere", "mistralai", "google-generativeai", "google-genai",
	"ollama", "litellm", "groq", "together", "replicate", "instructor", "guidance",
	"outlines", "dspy-ai", "dspy", "semantic-kernel", "autogen", "pyautogen", "crewai",
	// LangChain, LlamaIndex, RAG
	"langchain", "langchain-core", "langchain-community", "langchain-openai",
	"langchain-anthropic", "langchain-text-splitters", "langgraph", "langsmith",
	"llama-index", "llama-index-core", "haystack-ai", "farm-haystack",
	"chromadb", "pinecone-client", "pinecone", "weaviate-client", "qdrant-client",
	"pymilvus", "faiss-cpu", "faiss-gpu", "lancedb", "unstructured", "pypdf",
	// Classic ML and data
	"numpy", "scipy", "pandas", "polars", "pyarrow", "scikit-learn", "scikit-image",
	"xgboost", "lightgbm", "catboost", "statsmodels", "sympy", "numba", "joblib",
	"matplotlib", "seaborn", "plotly", "networkx", "shap", "optuna", "hyperopt",
	"imbalanced-learn", "umap-learn", "hdbscan",
	// TensorFlow, Keras, JAX
	"tensorflow", "tensorflow-gpu", "tensorflow-cpu", "tensorflow-hub", "tensorflow-datasets",
	"tensorboard", "tf-keras", "keras", "jax", "jaxlib", "flax", "optax", "orbax-checkpoint",
	"chex", "dm-haiku", "equinox",
	// Formats and runtimes
	"onnx", "onnxruntime", "onnxruntime-gpu", "onnxscript", "tensorrt", "openvino",
	"coremltools", "tflite-runtime", "h5py", "protobuf", "msgpack", "gguf", "ggml",
	// MLOps and infrastructure
	"mlflow", "wandb", "comet-ml", "neptune", "clearml", "dvc", "ray", "dask",
	"bentoml", "kserve", "fastapi", "uvicorn", "pydantic", "streamlit", "jupyter",
	"notebook", "jupyterlab", "ipython", "ipykernel", "kaggle", "modal",
	// Vision, audio, NLP
	"ultralytics", "opencv-python", "opencv-python-headless", "opencv-contrib-python",
	"pillow", "albumentations", "imageio", "mediapipe", "supervision", "detectron2",
	"segment-anything", "openai-whisper", "faster-whisper", "librosa", "soundfile",
	"spacy", "nltk", "gensim", "stanza", "fasttext",
	// Core dependencies of ML projects
	"requests", "urllib3", "pyyaml", "tqdm", "rich", "click", "typer", "regex",
	"filelock", "fsspec", "aiohttp", "httpx", "boto3", "setuptools", "wheel", "pip",
	"cryptography", "python-dateutil", "colorama", "jellyfish", "django", "flask",
	"jinja2", "typing-extensions", "attrs", "packaging",
}

// legitNearNames are real packages whose names are close to a popular
// one but are not typosquats, with why (checked on PyPI by hand).
var legitNearNames = map[string]string{
	"dataset":          "dataset (pudo/dataset), a database toolkit, not datasets",
	"pytorch":          "PyPI placeholder by the PyTorch team; install fails with a pointer to torch",
	"sklearn":          "deprecated PyPI placeholder of scikit-learn, kept by its maintainers",
	"scapy":            "scapy, the packet manipulation library, not scipy",
	"openapi":          "OpenAPI tooling, not openai",
	"torchx":           "TorchX, the PyTorch job launcher",
	"pytorch-ignite":   "PyTorch Ignite, the training library",
	"numpy-quaternion": "numpy-quaternion, a numpy extension",
	"tensorflow-text":  "TensorFlow Text, by Google",
	"keras-nlp":        "KerasNLP, by the Keras team",
	"torchtriton":      "dependency-confusion name of the December 2022 PyTorch incident, reported by OSV, not a typo",
	"tritonclient":     "NVIDIA Triton Inference Server client",
	"spacy-legacy":     "spaCy's own legacy architectures package",
	"optimum-intel":    "Optimum Intel, by Hugging Face",
	"jaxtyping":        "jaxtyping, type annotations for JAX arrays",
	"rays":             "unrelated project, not ray",
	"pandas-stubs":     "pandas type stubs, by the pandas team",
	"flax-community":   "unrelated to typos",
	"plotnine":         "plotnine, the grammar of graphics library",
	"dash":             "Plotly Dash",
	"timms":            "unrelated project, not timm",
}

// knownSquats are typosquats seen in real incidents, with their target.
var knownSquats = map[string]string{
	// Reported by SK-CSIRT (National Security Office of Slovakia), 2017:
	// https://www.nbu.gov.sk/skcsirt-sa-20170909-pypi/
	"urlib3": "urllib3",
	"diango": "django",
	// colourama, 2018: clipboard hijacker imitating colorama.
	"colourama": "colorama",
	// jeIlyfish (capital I) and python3-dateutil, December 2019: SSH and
	// GPG key stealers (https://github.com/dateutil/dateutil/issues/984).
	"jeilyfish":        "jellyfish",
	"python3-dateutil": "python-dateutil",
}
