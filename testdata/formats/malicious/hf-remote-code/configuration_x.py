from transformers import PretrainedConfig


class XConfig(PretrainedConfig):
    model_type = "x"

    def __init__(self, vocab_size=32, hidden_size=8, num_hidden_layers=1, **kwargs):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        super().__init__(**kwargs)
