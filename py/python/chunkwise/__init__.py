"""chunkwise: chunked, out-of-core array computing on a Rust graph compiler and runtime.

This module is a namespace of the Python Array API standard (2023.12): ``import chunkwise
as xp`` and write array code once; arrays are lazy and chunked, and ``compute`` runs their
graph in parallel with the GIL released.

>>> import chunkwise as cw
>>> x = cw.random.uniform(size=(1000, 1000), chunks=250, seed=0)
>>> y = cw.mean(cw.exp(x) - 1 / (x + 1), axis=0)
>>> y.shape
(1000,)
>>> float(y[0]) > 0
True
"""

from __future__ import annotations

import math as _math

from ._recorded import core as _core
from ._array import Array
from ._dtypes import (
    bool, can_cast, complex64, complex128, finfo, float32, float64, iinfo, int8, int16, int32,
    int64, isdtype, result_type, uint8, uint16, uint32, uint64,
)
from ._creation import *  # noqa: F401,F403
from ._elementwise import *  # noqa: F401,F403
from ._statistical import *  # noqa: F401,F403
from ._utility import *  # noqa: F401,F403
from ._searching import *  # noqa: F401,F403
from ._sorting import *  # noqa: F401,F403
from ._set import *  # noqa: F401,F403
from ._manipulation import *  # noqa: F401,F403
from ._indexing import take, take_along_axis
from ._linalg_functions import *  # noqa: F401,F403
from ._api import *  # noqa: F401,F403
from ._api import parse_bytes
from ._nan import *  # noqa: F401,F403
from ._dask import *  # noqa: F401,F403
from ._info import __array_namespace_info__
from . import distance, fft, linalg, random

__array_api_version__ = "2023.12"

e = _math.e
pi = _math.pi
inf = _math.inf
nan = _math.nan
newaxis = None
