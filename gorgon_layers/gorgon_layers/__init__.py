"""gorgon_layers (`import gorgon_layers as nn`): models from layers on top of gorgon's
primitives. Modules own numpy arrays and build graph nodes when called on a node; one
model runs on any batch size (machines specialised per input shape and cached);
Trainer fits and evaluates; models save as JSON architecture plus safetensors weights."""

from gorgon_layers import metrics
from gorgon_layers.activation import GELU, LeakyReLU, ReLU, Sigmoid, SiLU, Softmax, Tanh
from gorgon_layers.container import Sequential
from gorgon_layers.conv import Conv1d, Conv2d, ConvTranspose2d
from gorgon_layers.callbacks import Callback, EarlyStopping, ModelCheckpoint, ProgressBar
from gorgon_layers.data import batches
from gorgon_layers.init import seed
from gorgon_layers.linear import Embedding, Linear
from gorgon_layers.module import Buffer, Module, Parameter
from gorgon_layers.norm import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from gorgon_layers.pooling import AvgPool2d, Dropout, Flatten, GlobalAvgPool2d, MaxPool2d
from gorgon_layers.recurrent import GRU, LSTM, GRUCell, LSTMCell
from gorgon_layers.running import predict
from gorgon_layers.saving import ModelFileError, load, load_weights, register
from gorgon_layers.schedules import CosineLR, ExponentialLR, LinearWarmup, ReduceLROnPlateau, Schedule, StepLR
from gorgon_layers.trainer import History, Trainer, solver

LAYERS = [AvgPool2d, BatchNorm1d, BatchNorm2d, Conv1d, Conv2d, ConvTranspose2d, Dropout, Embedding, Flatten,
          GELU, GRU, GRUCell, GlobalAvgPool2d, GroupNorm, LSTM, LSTMCell, LayerNorm, LeakyReLU, Linear,
          MaxPool2d, ReLU, SiLU, Sequential, Sigmoid, Softmax, Tanh]
for _layer in LAYERS:
    register(_layer)

__all__ = [
    "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Buffer", "Conv1d", "Conv2d", "ConvTranspose2d", "Dropout",
    "Embedding", "Flatten", "GELU", "GRU", "GRUCell", "GlobalAvgPool2d", "GroupNorm", "LSTM", "LSTMCell",
    "LayerNorm", "LeakyReLU", "Linear", "MaxPool2d", "Module", "Parameter", "ReLU", "SiLU", "Sequential",
    "Sigmoid", "Softmax", "Tanh", "seed", "metrics", "Callback", "EarlyStopping", "ModelCheckpoint",
    "ProgressBar", "batches", "predict", "ModelFileError", "load", "load_weights", "register", "CosineLR",
    "ExponentialLR", "LinearWarmup", "ReduceLROnPlateau", "Schedule", "StepLR", "History", "Trainer", "solver",
]
