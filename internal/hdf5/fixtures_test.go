package hdf5

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const (
	modelConfig    = `{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"activation": "relu", "name": "dense", "units": 4}}, {"class_name": "Dense", "config": {"activation": "linear", "name": "dense_1", "units": 1}}], "name": "sequential"}}`
	trainingConfig = `{"loss": "mse", "optimizer_config": {"class_name": "Adam"}}`
)

func openFixture(t *testing.T, name string) *File {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(bytes.NewReader(b), int64(len(b)), DefaultLimits())
	if err != nil {
		t.Fatalf("Open(%s): %v", name, err)
	}
	return f
}

func attrsOf(t *testing.T, o *Object) map[string]Attribute {
	t.Helper()
	attrs, err := o.Attributes()
	if err != nil {
		t.Fatalf("%s: Attributes: %v", o.Path, err)
	}
	m := map[string]Attribute{}
	for _, a := range attrs {
		if _, dup := m[a.Name]; dup {
			t.Fatalf("%s: duplicate attribute %q", o.Path, a.Name)
		}
		m[a.Name] = a
	}
	return m
}

func attrNames(t *testing.T, o *Object) []string {
	t.Helper()
	attrs, err := o.Attributes()
	if err != nil {
		t.Fatalf("%s: Attributes: %v", o.Path, err)
	}
	var names []string
	for _, a := range attrs {
		names = append(names, a.Name)
	}
	return names
}

func wantString(t *testing.T, m map[string]Attribute, name string, want ...string) {
	t.Helper()
	a, ok := m[name]
	if !ok {
		t.Errorf("no attribute %q", name)
		return
	}
	if a.Class != "string" || !reflect.DeepEqual(a.Strings, want) {
		t.Errorf("attribute %q = %s %q, want string %q", name, a.Class, a.Strings, want)
	}
}

func walkPaths(t *testing.T, f *File) []string {
	t.Helper()
	var paths []string
	err := f.Walk(func(o *Object, depth int) error {
		paths = append(paths, o.Path)
		if _, err := o.Attributes(); err != nil {
			t.Errorf("%s: %v", o.Path, err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return paths
}

func TestKeras(t *testing.T) {
	for _, name := range []string{"keras_earliest.h5", "keras_latest.h5"} {
		t.Run(name, func(t *testing.T) {
			f := openFixture(t, name)
			if want := map[string]int{"keras_earliest.h5": 0, "keras_latest.h5": 3}[name]; f.Superblock != want {
				t.Errorf("superblock version %d, want %d", f.Superblock, want)
			}
			root, err := f.Root()
			if err != nil {
				t.Fatal(err)
			}
			m := attrsOf(t, root)
			if len(m) != 12 {
				t.Errorf("%d root attributes, want 12: %v", len(m), attrNames(t, root))
			}
			wantString(t, m, "keras_version", "2.11.0")
			wantString(t, m, "backend", "tensorflow")
			wantString(t, m, "model_config", modelConfig)
			wantString(t, m, "training_config", trainingConfig)
			wantString(t, m, "names_vlen", "alpha", "βeta")
			wantString(t, m, "space_padded", "pad")
			wantString(t, m, "empty", "")
			if a := m["epochs"]; a.Class != "integer" || !reflect.DeepEqual(a.Ints, []int64{7}) || a.Shape != nil {
				t.Errorf("epochs = %+v", a)
			}
			if a := m["shape"]; a.Class != "integer" || !reflect.DeepEqual(a.Ints, []int64{3, -4, 5}) || !reflect.DeepEqual(a.Shape, []uint64{3}) {
				t.Errorf("shape = %+v", a)
			}
			if a := m["flag"]; a.Class != "integer" || !reflect.DeepEqual(a.Ints, []int64{200}) {
				t.Errorf("flag = %+v", a)
			}
			if a := m["lr"]; a.Class != "float" || !reflect.DeepEqual(a.Floats, []float64{0.25}) {
				t.Errorf("lr = %+v", a)
			}
			if a := m["lrs"]; a.Class != "float" || !reflect.DeepEqual(a.Floats, []float64{0.5, 1.5}) {
				t.Errorf("lrs = %+v", a)
			}
			if a, ok, err := root.Attribute("model_config"); err != nil || !ok || a.Text() != modelConfig {
				t.Errorf("Attribute(model_config) = %q, %v, %v", a.Text(), ok, err)
			}

			links, err := root.Children()
			if err != nil {
				t.Fatal(err)
			}
			if len(links) != 1 || links[0].Name != "model_weights" || !links[0].Hard {
				t.Fatalf("root links = %+v", links)
			}
			mw, err := f.Object(links[0].Addr, "/model_weights")
			if err != nil {
				t.Fatal(err)
			}
			mwa := attrsOf(t, mw)
			wantString(t, mwa, "layer_names", "dense", "dense_1")
			wantString(t, mwa, "backend", "tensorflow")
			wantString(t, mwa, "keras_version", "2.11.0")
			if a := mwa["layer_names"]; !reflect.DeepEqual(a.Shape, []uint64{2}) {
				t.Errorf("layer_names shape %v", a.Shape)
			}

			want := []string{"/", "/model_weights",
				"/model_weights/dense", "/model_weights/dense/dense", "/model_weights/dense/dense/bias:0", "/model_weights/dense/dense/kernel:0",
				"/model_weights/dense_1", "/model_weights/dense_1/dense_1", "/model_weights/dense_1/dense_1/bias:0", "/model_weights/dense_1/dense_1/kernel:0"}
			if got := walkPaths(t, f); !reflect.DeepEqual(got, want) {
				t.Errorf("Walk paths = %q", got)
			}
			err = f.Walk(func(o *Object, depth int) error {
				switch o.Path {
				case "/model_weights/dense":
					wantString(t, attrsOf(t, o), "weight_names", "dense/kernel:0", "dense/bias:0")
				case "/model_weights/dense_1":
					wantString(t, attrsOf(t, o), "weight_names", "dense_1/kernel:0", "dense_1/bias:0")
				}
				leaf := strings.HasSuffix(o.Path, ":0")
				if o.IsDataset() != leaf || o.IsGroup() == leaf {
					t.Errorf("%s: IsDataset %v, IsGroup %v", o.Path, o.IsDataset(), o.IsGroup())
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestUserblock(t *testing.T) {
	f := openFixture(t, "userblock.h5")
	root, err := f.Root()
	if err != nil {
		t.Fatal(err)
	}
	if got := attrNames(t, root); !reflect.DeepEqual(got, []string{"model_config", "keras_version"}) {
		t.Errorf("root attributes %q", got)
	}
	m := attrsOf(t, root)
	wantString(t, m, "model_config", modelConfig)
	wantString(t, m, "keras_version", "2.11.0")
	if got := walkPaths(t, f); !reflect.DeepEqual(got, []string{"/", "/model_weights"}) {
		t.Errorf("paths %q", got)
	}
}

func TestV18(t *testing.T) {
	f := openFixture(t, "v18.h5")
	if f.Superblock != 2 {
		t.Errorf("superblock version %d", f.Superblock)
	}
	root, err := f.Root()
	if err != nil {
		t.Fatal(err)
	}
	wantString(t, attrsOf(t, root), "keras_version", "2.3.1")
	links, err := root.Children()
	if err != nil || len(links) != 1 {
		t.Fatalf("links %+v, %v", links, err)
	}
	mw, err := f.Object(links[0].Addr, "/model_weights")
	if err != nil {
		t.Fatal(err)
	}
	wantString(t, attrsOf(t, mw), "layer_names", "a", "bb")
}

func TestTrackOrder(t *testing.T) {
	f := openFixture(t, "track_order.h5")
	root, err := f.Root()
	if err != nil {
		t.Fatal(err)
	}
	if got := attrNames(t, root); !reflect.DeepEqual(got, []string{"zeta", "alpha"}) {
		t.Errorf("root attributes %q, want creation order", got)
	}
	if got := walkPaths(t, f); !reflect.DeepEqual(got, []string{"/", "/a_group", "/b_group"}) {
		t.Errorf("paths %q", got)
	}
}

func TestDenseAttributes(t *testing.T) {
	f := openFixture(t, "dense_attrs.h5")
	root, err := f.Root()
	if err != nil {
		t.Fatal(err)
	}
	m := attrsOf(t, root)
	if len(m) != 21 {
		t.Errorf("%d root attributes, want 21", len(m))
	}
	for i := 0; i < 20; i++ {
		name := "attr_" + string(rune('0'+i/10)) + string(rune('0'+i%10))
		if a := m[name]; a.Class != "integer" || !reflect.DeepEqual(a.Ints, []int64{int64(i * 10)}) {
			t.Errorf("%s = %+v", name, a)
		}
	}
	wantString(t, m, "model_config", modelConfig)
	links, err := root.Children()
	if err != nil || len(links) != 1 || links[0].Name != "child" {
		t.Fatalf("links %+v, %v", links, err)
	}
	child, err := f.Object(links[0].Addr, "/child")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(attrsOf(t, child)); n != 12 {
		t.Errorf("child has %d attributes, want 12", n)
	}
}

func TestBigAttribute(t *testing.T) {
	f := openFixture(t, "big_attr.h5")
	root, err := f.Root()
	if err != nil {
		t.Fatal(err)
	}
	m := attrsOf(t, root)
	wantString(t, m, "small", "s")
	wantString(t, m, "model_config", strings.Repeat("x", 70000))
	if len(m) != 2 {
		t.Errorf("%d attributes", len(m))
	}

	// The same file with a lower attribute size limit.
	b, _ := os.ReadFile("testdata/big_attr.h5")
	lim := DefaultLimits()
	lim.MaxAttributeBytes = 1000
	f, err = Open(bytes.NewReader(b), int64(len(b)), lim)
	if err != nil {
		t.Fatal(err)
	}
	root, err = f.Root()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Attributes(); !errors.Is(err, ErrLimit) {
		t.Errorf("Attributes with MaxAttributeBytes 1000: %v, want ErrLimit", err)
	}
}

func TestManyGroups(t *testing.T) {
	for _, name := range []string{"many_groups_earliest.h5", "many_groups_latest.h5"} {
		t.Run(name, func(t *testing.T) {
			f := openFixture(t, name)
			root, err := f.Root()
			if err != nil {
				t.Fatal(err)
			}
			links, err := root.Children()
			if err != nil {
				t.Fatal(err)
			}
			if len(links) != 20 {
				t.Fatalf("%d links", len(links))
			}
			for i, l := range links {
				want := "g" + string(rune('0'+i/10)) + string(rune('0'+i%10))
				if l.Name != want || !l.Hard {
					t.Errorf("link %d = %+v, want %s", i, l, want)
				}
				o, err := f.Object(l.Addr, "/"+l.Name)
				if err != nil {
					t.Fatal(err)
				}
				if a := attrsOf(t, o)["i"]; !reflect.DeepEqual(a.Ints, []int64{int64(i)}) {
					t.Errorf("%s: i = %+v", l.Name, a)
				}
			}
		})
	}
}

func TestLinks(t *testing.T) {
	for _, name := range []string{"links_earliest.h5", "links_latest.h5"} {
		t.Run(name, func(t *testing.T) {
			f := openFixture(t, name)
			root, err := f.Root()
			if err != nil {
				t.Fatal(err)
			}
			links, err := root.Children()
			if err != nil {
				t.Fatal(err)
			}
			if len(links) != 3 {
				t.Fatalf("links %+v", links)
			}
			ext, g, soft := links[0], links[1], links[2]
			if ext.Name != "ext" || ext.Hard || !ext.External || ext.Target != "other.h5\x00/x" {
				t.Errorf("ext = %+v", ext)
			}
			if g.Name != "g" || !g.Hard {
				t.Errorf("g = %+v", g)
			}
			if soft.Name != "soft" || soft.Hard || soft.External || soft.Target != "/g" {
				t.Errorf("soft = %+v", soft)
			}
			gobj, err := f.Object(g.Addr, "/g")
			if err != nil {
				t.Fatal(err)
			}
			up, err := gobj.Children()
			if err != nil || len(up) != 1 || up[0].Addr != f.RootAddr() || up[0].Name != "up" {
				t.Errorf("g's links %+v, %v; root at %#x", up, err, f.RootAddr())
			}
			if got := walkPaths(t, f); !reflect.DeepEqual(got, []string{"/", "/g"}) {
				t.Errorf("paths %q", got)
			}
		})
	}
}

func TestLookup3(t *testing.T) {
	// Values of hashlittle(key, len, 0) from Bob Jenkins' lookup3.c driver.
	if got := lookup3(nil); got != 0xdeadbeef {
		t.Errorf("lookup3(\"\") = %#x", got)
	}
	if got := lookup3([]byte("Four score and seven years ago")); got != 0x17770551 {
		t.Errorf("lookup3 = %#x", got)
	}
}

func TestDeepBTree(t *testing.T) {
	f := openFixture(t, "deep_btree.h5")
	root, err := f.Root()
	if err != nil {
		t.Fatal(err)
	}
	links, err := root.Children()
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 301 {
		t.Fatalf("%d links", len(links))
	}
	for i, l := range links[:300] {
		if want := fmt.Sprintf("l%03d", i); l.Name != want || l.Addr != links[300].Addr {
			t.Errorf("link %d = %+v", i, l)
		}
	}
	if got := walkPaths(t, f); !reflect.DeepEqual(got, []string{"/", "/l000"}) {
		t.Errorf("paths %q", got)
	}
}

func TestDenseMany(t *testing.T) {
	f := openFixture(t, "dense_many.h5")
	root, err := f.Root()
	if err != nil {
		t.Fatal(err)
	}
	m := attrsOf(t, root)
	if len(m) != 600 {
		t.Fatalf("%d attributes", len(m))
	}
	for i := 0; i < 600; i++ {
		if a := m[fmt.Sprintf("a%03d", i)]; !reflect.DeepEqual(a.Ints, []int64{int64(i)}) {
			t.Errorf("a%03d = %+v", i, a)
		}
	}
}
