__version__ = "0.0.4"

import warnings
# fastai 2.8 compiles a few layers with `torch.jit.script`, which torch >= 2.10 deprecates: nothing a user of this library can act on.
warnings.filterwarnings('ignore', message=r'`torch.jit.script` is deprecated', category=FutureWarning)
