package pickle

// The opcodes of pickle protocols 0 to 5, as CPython's Lib/pickle.py names them.
const (
	opMARK            = '('
	opSTOP            = '.'
	opPOP             = '0'
	opPOP_MARK        = '1'
	opDUP             = '2'
	opFLOAT           = 'F'
	opINT             = 'I'
	opBININT          = 'J'
	opBININT1         = 'K'
	opLONG            = 'L'
	opBININT2         = 'M'
	opNONE            = 'N'
	opPERSID          = 'P'
	opBINPERSID       = 'Q'
	opREDUCE          = 'R'
	opSTRING          = 'S'
	opBINSTRING       = 'T'
	opSHORT_BINSTRING = 'U'
	opUNICODE         = 'V'
	opBINUNICODE      = 'X'
	opAPPEND          = 'a'
	opBUILD           = 'b'
	opGLOBAL          = 'c'
	opDICT            = 'd'
	opEMPTY_DICT      = '}'
	opAPPENDS         = 'e'
	opGET             = 'g'
	opBINGET          = 'h'
	opINST            = 'i'
	opLONG_BINGET     = 'j'
	opLIST            = 'l'
	opEMPTY_LIST      = ']'
	opOBJ             = 'o'
	opPUT             = 'p'
	opBINPUT          = 'q'
	opLONG_BINPUT     = 'r'
	opSETITEM         = 's'
	opTUPLE           = 't'
	opEMPTY_TUPLE     = ')'
	opSETITEMS        = 'u'
	opBINFLOAT        = 'G'

	// Protocol 2.
	opPROTO    = 0x80
	opNEWOBJ   = 0x81
	opEXT1     = 0x82
	opEXT2     = 0x83
	opEXT4     = 0x84
	opTUPLE1   = 0x85
	opTUPLE2   = 0x86
	opTUPLE3   = 0x87
	opNEWTRUE  = 0x88
	opNEWFALSE = 0x89
	opLONG1    = 0x8a
	opLONG4    = 0x8b

	// Protocol 3.
	opBINBYTES       = 'B'
	opSHORT_BINBYTES = 'C'

	// Protocol 4.
	opSHORT_BINUNICODE = 0x8c
	opBINUNICODE8      = 0x8d
	opBINBYTES8        = 0x8e
	opEMPTY_SET        = 0x8f
	opADDITEMS         = 0x90
	opFROZENSET        = 0x91
	opNEWOBJ_EX        = 0x92
	opSTACK_GLOBAL     = 0x93
	opMEMOIZE          = 0x94
	opFRAME            = 0x95

	// Protocol 5.
	opBYTEARRAY8      = 0x96
	opNEXT_BUFFER     = 0x97
	opREADONLY_BUFFER = 0x98
)

// argKind says how an opcode's argument is encoded in the stream.
type argKind uint8

const (
	argNone  argKind = iota
	argLine          // up to a newline
	argLines         // two lines (GLOBAL, INST)
	argFixed         // a fixed number of bytes (n)
	argLen1          // a 1-byte length, then that many bytes
	argLen4          // a 4-byte little-endian length, then that many bytes
	argLen8          // an 8-byte little-endian length, then that many bytes
)

// opInfo describes one opcode.
type opInfo struct {
	name string
	arg  argKind
	n    int // for argFixed
}

// opTable is indexed by opcode byte; unknown opcodes have an empty name.
var opTable = func() (t [256]opInfo) {
	for _, o := range []struct {
		code byte
		info opInfo
	}{
		{opMARK, opInfo{"MARK", argNone, 0}}, {opSTOP, opInfo{"STOP", argNone, 0}},
		{opPOP, opInfo{"POP", argNone, 0}}, {opPOP_MARK, opInfo{"POP_MARK", argNone, 0}},
		{opDUP, opInfo{"DUP", argNone, 0}}, {opFLOAT, opInfo{"FLOAT", argLine, 0}},
		{opINT, opInfo{"INT", argLine, 0}}, {opBININT, opInfo{"BININT", argFixed, 4}},
		{opBININT1, opInfo{"BININT1", argFixed, 1}}, {opLONG, opInfo{"LONG", argLine, 0}},
		{opBININT2, opInfo{"BININT2", argFixed, 2}}, {opNONE, opInfo{"NONE", argNone, 0}},
		{opPERSID, opInfo{"PERSID", argLine, 0}}, {opBINPERSID, opInfo{"BINPERSID", argNone, 0}},
		{opREDUCE, opInfo{"REDUCE", argNone, 0}}, {opSTRING, opInfo{"STRING", argLine, 0}},
		{opBINSTRING, opInfo{"BINSTRING", argLen4, 0}}, {opSHORT_BINSTRING, opInfo{"SHORT_BINSTRING", argLen1, 0}},
		{opUNICODE, opInfo{"UNICODE", argLine, 0}}, {opBINUNICODE, opInfo{"BINUNICODE", argLen4, 0}},
		{opAPPEND, opInfo{"APPEND", argNone, 0}}, {opBUILD, opInfo{"BUILD", argNone, 0}},
		{opGLOBAL, opInfo{"GLOBAL", argLines, 0}}, {opDICT, opInfo{"DICT", argNone, 0}},
		{opEMPTY_DICT, opInfo{"EMPTY_DICT", argNone, 0}}, {opAPPENDS, opInfo{"APPENDS", argNone, 0}},
		{opGET, opInfo{"GET", argLine, 0}}, {opBINGET, opInfo{"BINGET", argFixed, 1}},
		{opINST, opInfo{"INST", argLines, 0}}, {opLONG_BINGET, opInfo{"LONG_BINGET", argFixed, 4}},
		{opLIST, opInfo{"LIST", argNone, 0}}, {opEMPTY_LIST, opInfo{"EMPTY_LIST", argNone, 0}},
		{opOBJ, opInfo{"OBJ", argNone, 0}}, {opPUT, opInfo{"PUT", argLine, 0}},
		{opBINPUT, opInfo{"BINPUT", argFixed, 1}}, {opLONG_BINPUT, opInfo{"LONG_BINPUT", argFixed, 4}},
		{opSETITEM, opInfo{"SETITEM", argNone, 0}}, {opTUPLE, opInfo{"TUPLE", argNone, 0}},
		{opEMPTY_TUPLE, opInfo{"EMPTY_TUPLE", argNone, 0}}, {opSETITEMS, opInfo{"SETITEMS", argNone, 0}},
		{opBINFLOAT, opInfo{"BINFLOAT", argFixed, 8}},
		{opPROTO, opInfo{"PROTO", argFixed, 1}}, {opNEWOBJ, opInfo{"NEWOBJ", argNone, 0}},
		{opEXT1, opInfo{"EXT1", argFixed, 1}}, {opEXT2, opInfo{"EXT2", argFixed, 2}},
		{opEXT4, opInfo{"EXT4", argFixed, 4}}, {opTUPLE1, opInfo{"TUPLE1", argNone, 0}},
		{opTUPLE2, opInfo{"TUPLE2", argNone, 0}}, {opTUPLE3, opInfo{"TUPLE3", argNone, 0}},
		{opNEWTRUE, opInfo{"NEWTRUE", argNone, 0}}, {opNEWFALSE, opInfo{"NEWFALSE", argNone, 0}},
		{opLONG1, opInfo{"LONG1", argLen1, 0}}, {opLONG4, opInfo{"LONG4", argLen4, 0}},
		{opBINBYTES, opInfo{"BINBYTES", argLen4, 0}}, {opSHORT_BINBYTES, opInfo{"SHORT_BINBYTES", argLen1, 0}},
		{opSHORT_BINUNICODE, opInfo{"SHORT_BINUNICODE", argLen1, 0}}, {opBINUNICODE8, opInfo{"BINUNICODE8", argLen8, 0}},
		{opBINBYTES8, opInfo{"BINBYTES8", argLen8, 0}}, {opEMPTY_SET, opInfo{"EMPTY_SET", argNone, 0}},
		{opADDITEMS, opInfo{"ADDITEMS", argNone, 0}}, {opFROZENSET, opInfo{"FROZENSET", argNone, 0}},
		{opNEWOBJ_EX, opInfo{"NEWOBJ_EX", argNone, 0}}, {opSTACK_GLOBAL, opInfo{"STACK_GLOBAL", argNone, 0}},
		{opMEMOIZE, opInfo{"MEMOIZE", argNone, 0}}, {opFRAME, opInfo{"FRAME", argFixed, 8}},
		{opBYTEARRAY8, opInfo{"BYTEARRAY8", argLen8, 0}}, {opNEXT_BUFFER, opInfo{"NEXT_BUFFER", argNone, 0}},
		{opREADONLY_BUFFER, opInfo{"READONLY_BUFFER", argNone, 0}},
	} {
		t[o.code] = o.info
	}
	return t
}()
