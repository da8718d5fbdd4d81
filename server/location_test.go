package server

import "testing"

// TestCheckLocation: a scan request names hf:// and s3:// freely, oci://
// only on a listed registry, a path only in or under a listed root.
func TestCheckLocation(t *testing.T) {
	roots, registries := []string{"/srv/models"}, []string{"registry.internal:5000"}
	for loc, ok := range map[string]bool{
		"hf://org/model@main":                        true,
		"s3://bucket/prefix":                         true,
		"oci://registry.internal:5000/team/model:v1": true,
		"oci://REGISTRY.internal:5000/team/model:v1": true,
		"oci://169.254.169.254/latest/meta-data":     false,
		"oci://registry.internal/team/model:v1":      false,
		"/srv/models":                                true,
		"/srv/models/a/b":                            true,
		"/srv/models/../secrets":                     false,
		"/srv/modelsx":                               false,
		"/etc/passwd":                                false,
		"srv/models/a":                               false,
		"/srv/models/a/":                             false,
		"http://127.0.0.1/x":                         false,
		"file:///srv/models/a":                       false,
		"gs://bucket/model":                          false,
	} {
		if err := checkLocation(loc, roots, registries); (err == nil) != ok {
			t.Errorf("%s: %v, want allowed %v", loc, err, ok)
		}
	}
	if err := checkLocation("/srv/models/a", nil, nil); err == nil {
		t.Error("a path accepted with no root")
	}
}
