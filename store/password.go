package store

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argon2idParams are the parameters HashPassword uses: RFC 9106's second
// recommended option (64 MiB, 3 passes, 4 lanes), a 16-byte salt and a
// 32-byte key.
var argon2idParams = phc{memory: 64 * 1024, time: 3, threads: 4, saltLen: 16, keyLen: 32}

// Bounds on the parameters of a stored hash: a hash read from the database
// with absurd parameters must not make one login take gigabytes or minutes.
const (
	maxArgonMemory  = 256 * 1024 // KiB
	maxArgonTime    = 16
	maxArgonThreads = 16
	maxArgonKeyLen  = 128
	minArgonSaltLen = 8
	maxArgonSaltLen = 64
)

// phc is a parsed argon2id PHC string.
type phc struct {
	memory  uint32
	time    uint32
	threads uint8
	saltLen int
	keyLen  int
	salt    []byte
	key     []byte
}

var errBadHash = errors.New("not a valid argon2id PHC string")

// parsePHC reads "$argon2id$v=19$m=M,t=T,p=P$SALT$KEY" (unpadded standard
// base64), the form the store accepts, within the bounds above.
func parsePHC(s string) (phc, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v=19" {
		return phc{}, errBadHash
	}
	var p phc
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return phc{}, errBadHash
	}
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(params[i], name)
		if !ok {
			return phc{}, errBadHash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return phc{}, errBadHash
		}
		switch i {
		case 0:
			p.memory = uint32(n)
		case 1:
			p.time = uint32(n)
		case 2:
			if n > maxArgonThreads {
				return phc{}, errBadHash
			}
			p.threads = uint8(n)
		}
	}
	if p.memory < 8*uint32(p.threads) || p.memory > maxArgonMemory || p.time < 1 || p.time > maxArgonTime || p.threads < 1 {
		return phc{}, fmt.Errorf("%w: parameters out of bounds", errBadHash)
	}
	var err error
	if p.salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil ||
		len(p.salt) < minArgonSaltLen || len(p.salt) > maxArgonSaltLen {
		return phc{}, errBadHash
	}
	if p.key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil ||
		len(p.key) < 16 || len(p.key) > maxArgonKeyLen {
		return phc{}, errBadHash
	}
	p.saltLen, p.keyLen = len(p.salt), len(p.key)
	return p, nil
}

// HashPassword returns the argon2id PHC string of a password, in the form
// CreateUser accepts.
func HashPassword(password string) (string, error) {
	p := argon2idParams
	p.salt = make([]byte, p.saltLen)
	if _, err := rand.Read(p.salt); err != nil {
		return "", err
	}
	p.key = argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(p.keyLen))
	return p.String(), nil
}

// String formats the PHC string.
func (p phc) String() string {
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", p.memory, p.time, p.threads,
		base64.RawStdEncoding.EncodeToString(p.salt), base64.RawStdEncoding.EncodeToString(p.key))
}

// VerifyPassword reports whether password matches the PHC string hash, in
// constant time with respect to the key. A malformed hash is an error.
func VerifyPassword(hash, password string) (bool, error) {
	p, err := parsePHC(hash)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(p.keyLen))
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}
