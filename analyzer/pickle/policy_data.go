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
		"jinja2", "mako", "numexpr"}},
	{finding.PickleProcess, "starts a process or runs a shell command", []string{
		"os", "posix", "nt", "subprocess", "pty", "popen2", "_posixsubprocess", "_winapi", "multiprocessing",
		"concurrent.futures", "threading", "_thread", "asyncio.subprocess", "asyncio.create_subprocess_exec",
		"asyncio.create_subprocess_shell", "asyncio.unix_events", "asyncio.base_subprocess", "asyncio.windows_events",
		"asyncio.windows_utils", "pip", "venv", "ensurepip", "_aix_support", "_osx_support", "platform",
		"pydoc.pipepager", "pydoc.tempfilepager", "pydoc.pager", "pydoc.getpager", "pydoc.plainpager", "_pyrepl",
		"imaplib.IMAP4_stream", "webbrowser", "distutils", "setuptools", "ctypes.util", "mailcap", "uuid._get_command_stdout",
		"uuid._popen", "uuid._ifconfig_getnode", "uuid._ip_getnode", "uuid._arp_getnode", "uuid._lanscan_getnode",
		"uuid._netstat_getnode", "uuid._ipconfig_getnode", "torch.utils.collect_env", "torch.multiprocessing",
		"torch.distributed.elastic", "torch._subclasses.fake_tensor"}},
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
		"torch.from_file", "torch.storage.*.from_file", "torch.*Storage.from_file", "h5py", "csv.writer"}},
	{finding.PickleNetwork, "opens network connections", []string{
		"socket", "_socket", "ssl", "http", "urllib", "urllib2", "urllib3", "requests", "httpx", "aiohttp",
		"ftplib", "smtplib", "poplib", "imaplib", "nntplib", "telnetlib", "xmlrpc", "socketserver", "asyncio",
		"wsgiref", "smtpd", "paramiko", "boto3", "botocore", "huggingface_hub", "fsspec", "grpc", "zmq",
		"websocket", "websockets", "torch.distributed", "numpy.DataSource", "numpy.lib._datasource",
		"sklearn.datasets"}},
	{finding.PickleNestedLoad, "deserializes more data, which escapes this scan", []string{
		"pickle", "_pickle", "pickletools", "marshal", "shelve", "joblib.load",
		"joblib.numpy_pickle.load", "joblib.numpy_pickle_compat", "sklearn.externals.joblib.load",
		"sklearn.externals.joblib.numpy_pickle.load", "numpy.load", "numpy.lib.npyio", "numpy.lib.format",
		"numpy.lib._npyio_impl", "numpy.lib._format_impl", "pandas.read_pickle", "pandas.io.pickle",
		"torch.load", "torch.serialization", "torch.jit.load", "torch.jit._serialization", "torch.storage._load_from_bytes",
		"yaml", "ruamel", "jsonpickle", "keras.models.load_model", "keras.saving", "tensorflow.keras.models.load_model",
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
