package pysrc

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// brief writes tokens as "kind:text@line", a string's kind "S" when its
// value is known and "D" when it is Dynamic.
func brief(toks []Token) string {
	var out []string
	for _, t := range toks {
		k := map[Kind]string{Name: "N", String: "S", Number: "#", Op: "O", Newline: "NL"}[t.Kind]
		if t.Kind == String && t.Dynamic {
			k = "D"
		}
		out = append(out, fmt.Sprintf("%s:%s@%d", k, t.Text, t.Line))
	}
	return strings.Join(out, " ")
}

func TestTokenize(t *testing.T) {
	for _, tt := range []struct{ name, src, want string }{
		{"call", `setup(install_requires=["a==1"])`,
			`N:setup@1 O:(@1 N:install_requires@1 O:=@1 O:[@1 S:a==1@1 O:]@1 O:)@1 NL:@1`},
		{"operators of several characters", "a **= b == c != d -> e ... f := g",
			`N:a@1 O:**=@1 N:b@1 O:==@1 N:c@1 O:!=@1 N:d@1 O:->@1 N:e@1 O:...@1 N:f@1 O::=@1 N:g@1 NL:@1`},
		{"logical lines", "a = (1,\n  2)\n\n# c\nb = 3 \\\n  + 4\r\nc = x \\\r\n  + 5\n",
			`N:a@1 O:=@1 O:(@1 #:1@1 O:,@1 #:2@2 O:)@2 NL:@2 N:b@5 O:=@5 #:3@5 O:+@6 #:4@6 NL:@6 N:c@7 O:=@7 N:x@7 O:+@8 #:5@8 NL:@8`},
		{"escapes decoded", `x = "tor\x63h\u003e=2\101\N{DASH}\q\n" 'it\'s' r"a\x41\"b"`,
			`N:x@1 O:=@1 S:torch>=2A\N{DASH}\q` + "\n" + `@1 S:it's@1 S:a\x41\"b@1 NL:@1`},
		{"prefixes", `u"a" b"b" f"c" f"{d}" F"e{{" t"f" rb"\x" Rf"{g}" ub"h"`,
			`S:a@1 D:b@1 S:c@1 D:{d}@1 D:e{{@1 D:f@1 D:\x@1 D:{g}@1 N:ub@1 S:h@1 NL:@1`},
		{"triple quotes", "s = \"\"\"a\n\"b\"\nc\"\"\"\nn = 1", "N:s@1 O:=@1 S:a\n\"b\"\nc@1 NL:@3 N:n@4 O:=@4 #:1@4 NL:@4"},
		{"a continued string", "s = 'a\\\nb'\nn", "N:s@1 O:=@1 S:ab@1 NL:@2 N:n@3 NL:@3"},
		{"numbers", "1.5e3 .5 0x_ff 1_000j", "#:1.5e3@1 #:.5@1 #:0x_ff@1 #:1_000j@1 NL:@1"},
		{"unicode names", "modèle = \"x\"\n\u00a0€", `N:modèle@1 O:=@1 S:x@1 NL:@1 O:` + "\u00a0" + `@2 O:€@2 NL:@2`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			toks, err := Tokenize([]byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if got := brief(toks); got != tt.want {
				t.Errorf("\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// Tokenize reads on past a string left open, and says where it was.
func TestTokenizeUnterminated(t *testing.T) {
	for _, tt := range []struct {
		src, want string
		line      int
	}{
		{"x = 'open\nsetup(a='b')\n", `N:x@1 O:=@1 D:open@1 NL:@1 N:setup@2 O:(@2 N:a@2 O:=@2 S:b@2 O:)@2 NL:@2`, 1},
		{"a\nb = \"\"\"never\nclosed\n", "N:a@1 NL:@1 N:b@2 O:=@2 D:never\nclosed\n@2 NL:@4", 2},
		{"x = 'a\\", `N:x@1 O:=@1 D:a\@1 NL:@1`, 1},
	} {
		toks, err := Tokenize([]byte(tt.src))
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line != tt.line || se.Msg != "unterminated string" {
			t.Errorf("%q: error %v, want unterminated string at line %d", tt.src, err, tt.line)
		}
		if got := brief(toks); got != tt.want {
			t.Errorf("%q:\n got %s\nwant %s", tt.src, got, tt.want)
		}
	}
}

func TestTokenizeLimit(t *testing.T) {
	toks, err := Tokenize([]byte(strings.Repeat("(", MaxTokens+10)))
	if err == nil || !strings.Contains(err.Error(), "tokens") || len(toks) != MaxTokens {
		t.Errorf("%d tokens, error %v", len(toks), err)
	}
	// A source of n bytes stays under the limit while n < MaxTokens.
	if toks, err := Tokenize([]byte(strings.Repeat("(", MaxTokens-1))); err != nil || len(toks) != MaxTokens {
		t.Errorf("%d tokens, error %v", len(toks), err)
	}
}

func FuzzTokenize(f *testing.F) {
	for _, s := range []string{
		`setup(install_requires=["a==1", 'b' "c"], extras_require={"x": ("d",)})`,
		"f(\"\"\"", "x = r'\\", "f(((((", "b'a' 'b' f'{x}' '\\x4", "a \\\r\nb\r\n'\\N{X}\\777\\U0010ffff\\U00110000'",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		toks, err := Tokenize(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SyntaxError", err)
			}
		}
		lines := strings.Count(string(src), "\n") + 1
		if len(toks) == 0 || len(toks) > len(src)+1 || toks[len(toks)-1].Kind != Newline {
			t.Fatalf("%d tokens from %d bytes", len(toks), len(src))
		}
		last := 1
		for _, tok := range toks {
			if tok.Line < last || tok.Line > lines {
				t.Fatalf("token %+v out of order or past line %d", tok, lines)
			}
			last = tok.Line
			if tok.Kind != Newline && tok.Kind != String && tok.Text == "" {
				t.Fatalf("empty token %+v", tok)
			}
			if tok.Kind == Name && !utf8.ValidString(tok.Text) {
				t.Fatalf("name %q is not UTF-8", tok.Text)
			}
		}
	})
}
