package pickle

import "github.com/violet-mlsecops/violet/finding"

// builtinAllow lists what real model files import, as "module:name"
// patterns (see allowEntry), each group with the reason it is safe: the
// function or class only builds data, runs no code given to it, and touches
// no file, process or network.
var builtinAllow = []struct {
	why   string
	names []string
}{
	{"a harmless built-in constructor", []string{
		"builtins:set", "builtins:frozenset", "builtins:list", "builtins:dict", "builtins:tuple", "builtins:int",
		"builtins:float", "builtins:complex", "builtins:bool", "builtins:str", "builtins:bytes", "builtins:bytearray",
		"builtins:slice", "builtins:range", "builtins:object", "builtins:Ellipsis", "builtins:NotImplemented",
		"builtins:NoneType"}},
	{"the standard helpers that pickle itself uses to rebuild objects", []string{
		"copyreg:_reconstructor", "_codecs:encode", "codecs:encode"}},
	{"a standard library data type", []string{
		"collections:OrderedDict", "collections:defaultdict", "collections:Counter", "collections:deque",
		"collections:ChainMap", "collections:UserDict", "collections:UserList", "collections:UserString",
		"datetime:datetime", "datetime:date", "datetime:time", "datetime:timedelta", "datetime:timezone",
		"decimal:Decimal", "fractions:Fraction", "uuid:UUID", "uuid:SafeUUID", "argparse:Namespace",
		"types:SimpleNamespace", "re:_compile", "ipaddress:IPv4Address", "ipaddress:IPv6Address",
		"pathlib:PurePosixPath", "pathlib:PureWindowsPath", "pathlib:PosixPath", "pathlib:WindowsPath", "pathlib:Path",
		"io:BytesIO", "io:StringIO", "zoneinfo:ZoneInfo", "zoneinfo:ZoneInfo._unpickle"}},
	{"PyTorch tensor, storage and parameter reconstruction (what torch.load(weights_only=True) accepts)", []string{
		"torch._utils:_rebuild_*", "torch:*Tensor", "torch._tensor:_rebuild_from_type_v2", "torch:*Storage",
		"torch.storage:UntypedStorage", "torch.storage:TypedStorage",
		"torch:Size", "torch:device", "torch:dtype", "torch:Tensor", "torch:layout", "torch:memory_format",
		"torch.nn.parameter:Parameter", "torch.nn.parameter:UninitializedParameter", "torch.nn.parameter:Buffer",
		"torch.serialization:_get_layout", "torch.torch_version:TorchVersion", "torch.nn.utils.rnn:PackedSequence",
		"torch:float*", "torch:int*", "torch:uint*", "torch:bool", "torch:bfloat16", "torch:half", "torch:double",
		"torch:complex*", "torch:cfloat", "torch:cdouble", "torch:chalf", "torch:long", "torch:short", "torch:qint8",
		"torch:quint8", "torch:qint32", "torch:quint4x2", "torch:quint2x4", "torch:bits*",
		"torch:strided", "torch:sparse_coo", "torch:sparse_csr", "torch:sparse_csc", "torch:sparse_bsr",
		"torch:sparse_bsc", "torch:_mkldnn", "torch:jagged", "torch:contiguous_format", "torch:channels_last",
		"torch:channels_last_3d", "torch:preserve_format", "torch:per_tensor_affine", "torch:per_channel_affine",
		"torch:per_tensor_symmetric", "torch:per_channel_symmetric", "torch:per_channel_affine_float_qparams"}},
	{"a standard PyTorch layer, optimizer or scheduler class (torch.save of a whole module)", []string{
		"torch.nn.modules.**:[A-Z]*", "torch.optim.**:[A-Z]*", "torch.nn.utils.parametrize:[A-Z]*",
		"torch.ao.nn.**:[A-Z]*", "torch.nn.quantized.**:[A-Z]*", "torch.nn.intrinsic.**:[A-Z]*"}},
	{"TorchScript: helpers of the TorchScript unpickler and its class namespace, which import no Python", []string{
		"torch.jit._pickle:build_*", "torch.jit._pickle:restore_type_tag", "__torch__.**:**"}},
	{"NumPy array and scalar reconstruction", []string{
		"numpy.core.multiarray:_reconstruct", "numpy._core.multiarray:_reconstruct",
		"numpy.core.multiarray:scalar", "numpy._core.multiarray:scalar",
		"numpy.core.numeric:_frombuffer", "numpy._core.numeric:_frombuffer",
		"numpy:ndarray", "numpy:dtype", "numpy.dtypes:*DType", "numpy:matrix", "numpy.matrixlib.defmatrix:matrix",
		"numpy.ma.core:_mareconstruct", "numpy.ma.core:MaskedArray", "numpy.core.records:recarray",
		"numpy._core.records:recarray", "numpy.core.records:record", "numpy._core.records:record",
		"numpy.random._pickle:__*_ctor", "numpy.random.**:[A-Z]*",
		"numpy:bool_", "numpy:bool", "numpy:int8", "numpy:int16", "numpy:int32", "numpy:int64", "numpy:uint8",
		"numpy:uint16", "numpy:uint32", "numpy:uint64", "numpy:float16", "numpy:float32", "numpy:float64",
		"numpy:float128", "numpy:longdouble", "numpy:complex64", "numpy:complex128", "numpy:complex256",
		"numpy:clongdouble", "numpy:str_", "numpy:bytes_", "numpy:void", "numpy:object_", "numpy:datetime64",
		"numpy:timedelta64", "numpy:intc", "numpy:uintc", "numpy:intp", "numpy:uintp", "numpy:longlong",
		"numpy:ulonglong", "numpy:short", "numpy:ushort", "numpy:byte", "numpy:ubyte", "numpy:half",
		"numpy:single", "numpy:double", "numpy:csingle", "numpy:cdouble", "numpy:int_", "numpy:float_",
		"numpy:complex_", "numpy:unicode_", "numpy:string_"}},
	{"a scikit-learn estimator or helper class, or its Cython reconstruction helper", []string{
		"sklearn.**:[A-Z]*", "sklearn.**:__pyx_unpickle_*", "sklearn.neighbors.**:newObj",
		"sklearn.metrics._scorer:_passthrough_scorer"}},
	{"a gradient boosting library's model class", []string{
		"xgboost.**:[A-Z]*", "lightgbm.**:[A-Z]*", "catboost.**:[A-Z]*"}},
	{"a joblib container for NumPy arrays", []string{
		"joblib.numpy_pickle:NumpyArrayWrapper", "sklearn.externals.joblib.numpy_pickle:NumpyArrayWrapper"}},
	{"a SciPy sparse matrix or array class", []string{
		"scipy.sparse.**:[A-Z]*", "scipy.sparse.**:*_matrix", "scipy.sparse.**:*_array",
		"scipy.sparse.**:__pyx_unpickle_*"}},
	{"a pandas data structure or its reconstruction helper", []string{
		"pandas.**:[A-Z]*", "pandas.**:_unpickle*", "pandas.**:*_unpickle", "pandas.**:__*_unpickle",
		"pandas.**:__pyx_unpickle_*", "pandas.**:_new_*", "pandas.**:new_block*", "pandas.**:_reconstruct*",
		"pandas._libs.tslibs.nattype:__nat_unpickle"}},
	{"a standard library helper that builds data from its arguments", []string{
		"_operator:getitem", "operator:getitem", "random:Random", "inspect:_empty", "inspect:Parameter",
		"inspect:_ParameterKind", "inspect:Signature", "typing:[A-Z]*", "builtins:type", "functools:partial", "enum:Enum"}},
	{"PyTorch: named tuples of results, random generators, native tensor functions and nested-tensor reconstruction", []string{
		"torch.return_types:*", "torch._C:Generator", "torch:Generator", "torch._C._nn:*", "torch.nn.functional:*",
		"torch.nested._internal.nested_tensor:_rebuild_njt", "torch.nested._internal.nested_tensor:NestedTensor",
		"torch._dynamo.decorators:_DimRange"}},
	{"fsspec's local file system object and the helper that rebuilds a file system from its class (judged through it): instantiating LocalFileSystem opens nothing; every other fsspec name stays denied", []string{
		"fsspec.spec:make_instance", "fsspec.implementations.local:LocalFileSystem"}},
	{"a library's immutable mapping or rebuild helper, which builds data from its arguments", []string{
		"flax.core.frozen_dict:FrozenDict", "torch_geometric.data.batch:DynamicInheritanceGetter",
		"statsmodels.tsa.statespace.**:*Statespace", "statsmodels.tsa.statespace.**:*KalmanFilter",
		"statsmodels.tsa.statespace.**:*KalmanSmoother", "statsmodels.tsa.statespace.**:*SimulationSmoother",
		"statsmodels.tsa.statespace.**:*Initialization"}},
	{"NumPy: classes and helpers that numpy 2 writes (dtypes, polynomials, masked and record arrays, vectorize)", []string{
		"numpy._core._internal:_convert_to_stringdtype_kwargs", "numpy.core._internal:_convert_to_stringdtype_kwargs",
		"numpy.rec:recarray", "numpy:record", "numpy:recarray", "numpy.ma:MaskedArray", "numpy.ma.core:MaskedConstant",
		"numpy.ma.core:_MaskedPrintOption", "numpy:vectorize", "numpy:finfo", "numpy:iinfo",
		"numpy._core._ufunc_config:*", "numpy.random.bit_generator:__pyx_unpickle_*", "numpy.random.**:__pyx_unpickle_*",
		"numpy._core._multiarray_umath:_reconstruct", "numpy.core._multiarray_umath:_reconstruct"}},
	{"a NumPy universal function (pure array arithmetic)", numpyUfuncs},
	{"pyarrow array, table, schema and type reconstruction, as pandas 3 stores strings", []string{
		"pyarrow.lib:type_for_alias", "pyarrow.lib:py_buffer", "pyarrow.lib:_restore_array", "pyarrow.lib:_reconstruct_table",
		"pyarrow.lib:_reconstruct_record_batch", "pyarrow.lib:chunked_array", "pyarrow.lib:schema", "pyarrow.lib:field",
		"pyarrow.lib:list_", "pyarrow.lib:large_list", "pyarrow.lib:list_view", "pyarrow.lib:large_list_view", "pyarrow.lib:map_",
		"pyarrow.lib:struct", "pyarrow.lib:dictionary", "pyarrow.lib:timestamp", "pyarrow.lib:time32", "pyarrow.lib:time64",
		"pyarrow.lib:duration", "pyarrow.lib:decimal32", "pyarrow.lib:decimal64", "pyarrow.lib:decimal128", "pyarrow.lib:decimal256",
		"pyarrow.lib:binary", "pyarrow.lib:fixed_size_binary", "pyarrow.lib:scalar", "pyarrow.lib:array", "pyarrow.lib:table",
		"pyarrow.lib:record_batch", "pyarrow.lib:union", "pyarrow.lib:run_end_encoded", "pyarrow.lib:month_day_nano_interval",
		"pyarrow.lib:Tensor", "pyarrow.lib:_reconstruct_tensor", "pyarrow.lib:KeyValueMetadata", "pyarrow.lib:string",
		"pyarrow.lib:large_string", "pyarrow.lib:string_view", "pyarrow.lib:binary_view", "pyarrow.lib:int*", "pyarrow.lib:uint*",
		"pyarrow.lib:float*", "pyarrow.lib:bool_", "pyarrow.lib:null", "pyarrow.lib:date32", "pyarrow.lib:date64"}},
	{"scikit-learn's distance metric reconstruction (newObj creates the metric class it is given)", []string{
		"sklearn.metrics._dist_metrics:newObj", "sklearn.metrics.**:__pyx_unpickle_*"}},
	{"JAX and ml_dtypes arrays: an array rebuilt from the NumPy array it holds", []string{
		"jax._src.array:_reconstruct_array", "ml_dtypes:*", "jax.numpy:float*", "jax.numpy:int*", "jax.numpy:uint*",
		"jax.numpy:bfloat16", "jax.numpy:bool_", "jax.numpy:complex*"}},
	{"a time zone", []string{
		"pytz:_p", "pytz:_UTC", "pytz:timezone", "pytz.tzinfo:**", "dateutil.tz.**:tz*"}},
}

// builtinDeny names the globals that attackers use, by the danger they
// bring. An entry covers a name and everything below it.
var builtinDeny = []struct {
	rule  string
	why   string
	names []string
}{
	{finding.PickleCodeExec, "runs Python code or native code", []string{
		"builtins.eval", "builtins.exec", "builtins.compile", "builtins.execfile", "builtins.breakpoint",
		"builtins.help", "builtins.license", "builtins.credits", "builtins.copyright",
		"code", "codeop", "runpy", "types.CodeType", "types.FunctionType", "types.LambdaType", "types.MethodType",
		"pdb", "bdb", "profile", "cProfile", "trace", "timeit", "doctest", "idlelib", "unittest", "test",
		"ctypes", "_ctypes", "cffi", "tkinter", "_tkinter", "typing.ForwardRef", "typing.get_type_hints",
		"typing._eval_type", "cloudpickle", "dill", "IPython", "sympy.sympify", "sympy.parsing",
		"torch._inductor", "torch.utils.bottleneck", "torch._dynamo", "torch.fx.experimental.symbolic_shapes",
		"torch.fx.graph_module", "torch.hub", "torch.package", "torch.utils.cpp_extension", "torch.ops.load_library",
		"torch.classes.load_library", "torch._C._jit_*", "torch.jit.unsupported_tensor_ops", "torch.jit.CompilationUnit", "torch.jit.frontend",
		"numpy.testing", "numpy.f2py", "numpy.distutils", "numpy.ctypeslib",
		"pandas.eval", "pandas.core.computation", "sklearn.utils._testing", "keras.src.utils.python_utils",
		"jinja2", "mako", "numexpr", "transformers.dynamic_module_utils", "transformers.agents", "transformers.tools",
		"transformers.utils.import_utils", "torch.utils.data.datapipes", "torchdata", "pyarrow.lib.PyExtensionType",
		"pyarrow.cffi", "pyarrow.jvm", "jax.experimental.serialize_executable", "numpy.lib.utils", "scipy.weave",
		"sklearn.utils.fixes.parse_version", "torch.fx", "torch.compile", "torch._export.serde.serialize",
		"hydra", "omegaconf.OmegaConf.register_new_resolver"}},
	{finding.PickleProcess, "starts a process or runs a shell command", []string{
		"os", "posix", "nt", "subprocess", "pty", "popen2", "_posixsubprocess", "_winapi", "multiprocessing",
		"concurrent.futures", "threading", "_thread", "asyncio.subprocess", "asyncio.create_subprocess_exec",
		"asyncio.create_subprocess_shell", "asyncio.unix_events", "asyncio.base_subprocess", "asyncio.windows_events",
		"asyncio.windows_utils", "pip", "venv", "ensurepip", "_aix_support", "_osx_support", "platform",
		"pydoc.pipepager", "pydoc.tempfilepager", "pydoc.pager", "pydoc.getpager", "pydoc.plainpager", "_pyrepl",
		"imaplib.IMAP4_stream", "webbrowser", "distutils", "setuptools", "ctypes.util", "mailcap", "uuid._get_command_stdout",
		"uuid._popen", "uuid._ifconfig_getnode", "uuid._ip_getnode", "uuid._arp_getnode", "uuid._lanscan_getnode",
		"uuid._netstat_getnode", "uuid._ipconfig_getnode", "torch.utils.collect_env", "torch.multiprocessing",
		"torch.distributed.elastic", "torch._subclasses.fake_tensor", "torch.distributed.run", "torch.distributed.launch",
		"torch.distributed.launcher"}},
	{finding.PickleFilesystem, "reads, writes or deletes files", []string{
		"builtins.open", "io", "_io", "codecs.open", "codecs.EncodedFile", "shutil", "pathlib", "tempfile", "glob",
		"fileinput", "filecmp", "linecache", "mmap", "logging.FileHandler", "logging.handlers", "logging.config",
		"zipfile", "tarfile", "gzip.open", "gzip.GzipFile", "bz2.open", "bz2.BZ2File", "lzma.open", "lzma.LZMAFile",
		"dbm", "sqlite3", "os.path", "os.remove", "os.unlink", "os.rmdir", "os.removedirs", "os.rename", "os.renames",
		"os.replace", "os.mkdir", "os.makedirs", "os.open", "os.fdopen", "os.write", "os.truncate", "os.chmod",
		"os.chown", "os.link", "os.symlink", "os.listdir", "os.scandir", "os.walk", "os.chdir", "os.utime",
		"posix.remove", "posix.unlink", "posix.rename", "posix.open", "posix.write", "posix.listdir", "posix.mkdir",
		"numpy.memmap", "numpy.core.memmap", "numpy._core.memmap", "numpy.fromfile", "numpy.save", "numpy.savez",
		"numpy.savez_compressed", "numpy.savetxt", "numpy.loadtxt", "numpy.genfromtxt", "numpy.tofile",
		"pandas.io", "pandas.read_*", "pandas.to_pickle", "torch.save", "torch.serialization.save",
		"torch.distributed.checkpoint.filesystem.FileSystemReader", "torch.distributed.checkpoint.filesystem.FileSystemWriter",
		"torch.distributed.checkpoint.state_dict_loader", "torch.distributed.checkpoint.state_dict_saver",
		"torch.distributed.checkpoint.format_utils", "torch.distributed.checkpoint.load", "torch.distributed.checkpoint.save",
		"torch.distributed.checkpoint.load_state_dict", "torch.distributed.checkpoint.save_state_dict",
		"torchvision.io", "torchvision.datasets", "torchaudio.load", "torchaudio.save", "torchaudio.backend", "torchaudio._backend",
		"torch_geometric.io", "scipy.io", "pyarrow.fs", "pyarrow.parquet", "pyarrow.feather", "pyarrow.orc", "pyarrow.csv",
		"pyarrow.json", "pyarrow.dataset", "pyarrow.ipc", "pyarrow.lib.NativeFile", "pyarrow.lib.OSFile",
		"pyarrow.lib.MemoryMappedFile", "pyarrow.lib.PythonFile", "pyarrow.lib.memory_map", "pyarrow.lib.create_memory_map",
		"pyarrow.lib.input_stream", "pyarrow.lib.output_stream", "pyarrow.lib.foreign_buffer", "datasets.table",
		"lightning.fabric.utilities.cloud_io", "lightning_fabric.utilities.cloud_io", "pytorch_lightning.utilities.cloud_io",
		"flax.training.checkpoints", "orbax.checkpoint", "xarray.backends", "xarray.open_*", "xarray.load_*",
		"pandas.HDFStore", "pandas.ExcelWriter", "pandas.ExcelFile", "numpy.fromregex", "torch.utils.tensorboard",
		"torchaudio.io", "torchaudio.utils.download_asset", "timm.data.readers", "timm.data.dataset", "timm.data.dataset_factory",
		"torch.from_file", "torch.storage.*.from_file", "torch.*Storage.from_file", "h5py", "csv.writer"}},
	{finding.PickleNetwork, "opens network connections", []string{
		"socket", "_socket", "ssl", "http", "urllib", "urllib2", "urllib3", "requests", "httpx", "aiohttp",
		"ftplib", "smtplib", "poplib", "imaplib", "nntplib", "telnetlib", "xmlrpc", "socketserver", "asyncio",
		"wsgiref", "smtpd", "paramiko", "boto3", "botocore", "huggingface_hub", "fsspec", "grpc", "zmq",
		"websocket", "websockets", "numpy.DataSource", "torch.distributed.rpc", "torch.distributed.rendezvous",
		"torch.distributed.distributed_c10d", "torch.distributed.init_process_group", "torch.distributed.new_group",
		"torch.distributed.*Store", "torch.distributed.device_mesh.init_device_mesh", "torch.distributed.nn.api.remote_module",
		"torch._C._distributed_c10d", "torch._C._distributed_rpc", "torch._C._distributed_autograd",
		"torch.distributed.autograd", "torch.distributed.optim", "torch.distributed.checkpoint.fsspec",
		"torch.distributed.checkpoint._fsspec_filesystem", "torch.distributed.checkpoint.hf_storage",
		"torch.distributed.checkpoint._hf_storage", "torchvision.datasets.utils", "torch_geometric.data.download",
		"torch_geometric.datasets", "transformers.utils.hub", "transformers.file_utils", "transformers.pipeline",
		"transformers.pipelines.pipeline", "timm.models._hub", "peft.utils.hub_utils", "sentence_transformers.util.http_get",
		"scipy.datasets", "pyarrow.flight", "pyarrow.hdfs", "pyarrow.plasma", "numpy.lib._datasource",
		"sklearn.datasets"}},
	{finding.PickleNestedLoad, "deserializes more data, which escapes this scan", []string{
		"pickle", "_pickle", "pickletools", "marshal", "shelve", "joblib.load",
		"joblib.numpy_pickle.load", "joblib.numpy_pickle_compat", "sklearn.externals.joblib.load",
		"sklearn.externals.joblib.numpy_pickle.load", "numpy.load", "numpy.lib.npyio", "numpy.lib.format",
		"numpy.lib._npyio_impl", "numpy.lib._format_impl", "pandas.read_pickle", "pandas.io.pickle",
		"torch.load", "torch.serialization", "torch.jit.load", "torch.jit._serialization", "torch.storage._load_from_bytes",
		"yaml", "ruamel", "jsonpickle", "timm.models._helpers", "timm.models.load_checkpoint", "timm.models._builder",
		"lightning.pytorch.core.saving", "pytorch_lightning.core.saving", "peft.utils.save_and_load",
		"accelerate.checkpointing", "accelerate.utils.modeling.load_checkpoint_in_model", "accelerate.utils.other.load",
		"transformers.modeling_utils.load_state_dict", "transformers.trainer_pt_utils.torch_load", "keras.models.load_model", "keras.saving", "tensorflow.keras.models.load_model",
		"lib2to3", "xmlrpc.client.loads", "torch.utils.data.datapipes.utils.decoder", "torch.utils._config_module", "tensorflow.io", "tensorflow.saved_model"}},
	{finding.PickleDynamicImport, "imports modules or looks up attributes by name at load time", []string{
		"builtins.__import__", "builtins.getattr", "builtins.setattr", "builtins.delattr", "builtins.apply",
		"importlib", "imp", "pkgutil", "zipimport", "pydoc", "operator.attrgetter", "operator.methodcaller",
		"operator.setitem", "operator.delitem", "operator.call", "_operator.attrgetter", "_operator.methodcaller",
		"_operator.setitem", "_operator.delitem", "_operator.call", "functools.reduce", "_functools.reduce"}},
	{finding.PickleInternals, "reaches interpreter internals", []string{
		"sys", "gc", "inspect", "builtins.globals", "builtins.locals", "builtins.vars", "builtins.exit",
		"builtins.quit", "copyreg", "copy_reg", "atexit", "signal", "faulthandler", "site", "resource",
		"weakref.finalize", "os.environ", "os.getenv", "os.putenv", "os.unsetenv", "os.kill", "posix.kill",
		"builtins.__build_class__", "types.ModuleType"}},
}

// numpyUfuncs are NumPy's universal functions that pickles reference by name
// (a FunctionTransformer(np.log1p), an aggregation function kept by an
// estimator): elementwise arithmetic, no I/O.
var numpyUfuncs = func() []string {
	var out []string
	for _, n := range []string{"add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "negative", "positive",
		"power", "float_power", "remainder", "mod", "fmod", "absolute", "abs", "fabs", "rint", "sign", "heaviside", "conjugate",
		"exp", "exp2", "log", "log2", "log10", "expm1", "log1p", "sqrt", "square", "cbrt", "reciprocal", "sin", "cos", "tan",
		"arcsin", "arccos", "arctan", "arctan2", "hypot", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "deg2rad",
		"rad2deg", "degrees", "radians", "maximum", "minimum", "fmax", "fmin", "isfinite", "isinf", "isnan", "isnat", "signbit",
		"copysign", "nextafter", "spacing", "modf", "ldexp", "frexp", "floor", "ceil", "trunc", "greater", "greater_equal",
		"less", "less_equal", "not_equal", "equal", "logical_and", "logical_or", "logical_xor", "logical_not", "bitwise_and",
		"bitwise_or", "bitwise_xor", "invert", "left_shift", "right_shift", "gcd", "lcm", "logaddexp", "logaddexp2",
		"mean", "median", "sum", "prod", "std", "var", "amax", "amin", "max", "min", "nanmean", "nanmedian", "nansum",
		"nanstd", "nanvar", "nanmax", "nanmin", "average", "percentile", "quantile", "argmax", "argmin", "clip", "round"} {
		out = append(out, "numpy:"+n, "numpy.core.umath:"+n, "numpy._core.umath:"+n)
	}
	return out
}()

// builtinLibraries are the ML libraries whose classes a pickle may rebuild
// without running their constructor (NEWOBJ, NEWOBJ_EX, copyreg's
// reconstructor, Cython's unpickle helpers: cls.__new__(cls) and then the
// state), and whose Enum classes it may call with a constant (an Enum member
// looked up by value), although no allowlist entry names them one by one.
// Such an operation runs no code of the file's choosing: the class's
// __new__ allocates and its __setstate__ (or a __dict__ update) stores the
// state, whose own globals are judged in turn. Functions of these libraries
// are not covered: calling one with arguments stays a finding, and a class
// or function that does something dangerous at load is named in
// builtinDeny, which is checked first. A reference to one of their functions
// (a scoring function kept by an estimator) is stored data, not a call.
var builtinLibraries = []struct {
	why     string
	modules []string
}{
	{"PyTorch and its domain libraries: layers, optimizers, schedulers, data classes of torch.distributed checkpoints, quantized modules, distributions",
		[]string{"torch", "torchvision", "torchaudio", "torchtext", "torchmetrics", "torch_geometric", "torchdata.nodes"}},
	{"Hugging Face libraries: model and configuration classes, TrainingArguments and its enums, tokenizers, PEFT adapters and configs, Accelerate state",
		[]string{"transformers", "tokenizers", "peft", "accelerate", "sentence_transformers", "diffusers", "safetensors", "timm"}},
	{"Lightning: modules, callbacks and their state, AttributeDict of hyperparameters",
		[]string{"lightning", "pytorch_lightning", "lightning_fabric", "lightning_utilities"}},
	{"the scientific Python stack: array, table, statistics and interpolation classes",
		[]string{"numpy", "scipy", "pandas", "pyarrow", "sklearn", "statsmodels", "xarray", "networkx"}},
	{"JAX and its libraries: arrays, PRNG keys, Flax modules and states, Optax optimizer states, Equinox modules",
		[]string{"jax", "jaxlib", "flax", "optax", "equinox", "ml_dtypes", "chex"}},
	{"gradient boosting libraries", []string{"xgboost", "lightgbm", "catboost"}},
	{"NVIDIA NeMo: model, module and configuration classes, as .nemo archives' model_config.yaml names them",
		[]string{"nemo"}},
	{"OmegaConf configuration containers (DictConfig, ListConfig and their nodes), as Lightning and NeMo keep hyperparameters; interpolations are resolved on access, not at load",
		[]string{"omegaconf"}},
}

// builtinDenyNames judge, by what its last name says it does, a function or
// method that no allowlist entry names: a library's loader, downloader or
// writer is as dangerous in any library. They apply to names the policy
// would otherwise call unknown, and to the methods that a pickle reaches
// through builtins.getattr of an object.
var builtinDenyNames = []struct {
	rule  string
	why   string
	names []string
}{
	{finding.PickleNestedLoad, "loads another file or serialized object, which escapes this scan", []string{
		"load", "loads", "load_*", "*_load", "*_loads", "from_pretrained", "from_file", "from_checkpoint",
		"load_from_checkpoint", "restore*", "unpickle", "deserialize*", "*_deserialize"}},
	{finding.PickleNetwork, "downloads or reaches the network", []string{
		"download*", "*_download", "*_download_*", "fetch_*", "urlopen", "http_get", "hf_hub_*", "push_to_hub", "*_from_url",
		"from_url", "snapshot_download", "cached_file", "cached_path"}},
	{finding.PickleFilesystem, "writes, reads or deletes files", []string{
		"save", "save_*", "*_save", "dump", "dumps", "dump_*", "to_pickle", "to_csv", "to_json", "to_parquet", "to_hdf",
		"to_sql", "to_excel", "to_feather", "to_orc", "to_stata", "to_html", "to_latex", "to_markdown", "to_xml", "to_clipboard",
		"to_netcdf", "to_zarr", "tofile", "fromfile", "fromregex", "loadtxt", "genfromtxt", "memmap", "open_memmap",
		"write*", "read_*", "unlink", "remove", "rmtree", "mkdir", "makedirs", "open",
		"extract*", "export*"}},
	{finding.PickleCodeExec, "evaluates an expression or runs code", []string{
		"eval", "exec", "query", "compile", "system", "popen", "run", "call", "spawn*", "execute", "apply_async",
		"register_forward_*", "register_*_hook"}},
}
