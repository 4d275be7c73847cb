package oci

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/runikraft/runikraft/internal/flock"
)

// Store is the local image store: an OCI layout whose index names each
// image by its reference (org.opencontainers.image.ref.name, the fully
// qualified name), and a directory of kernels extracted by digest for
// runikraft run. It lives under the user's cache directory.
type Store struct {
	dir string
}

// ErrNotFound is Lookup's error for a reference the store does not hold.
var ErrNotFound = errors.New("not in the local store")

// DefaultDir is the store's place: runikraft/ in the user's cache
// directory ($XDG_CACHE_HOME or ~/.cache).
func DefaultDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for the image store: %w", err)
	}
	return filepath.Join(d, "runikraft"), nil
}

// StoreExists reports whether dir holds a store.
func StoreExists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "oci", "index.json"))
	return err == nil
}

// OpenStore opens (creating if needed) the store in dir.
func OpenStore(dir string) (*Store, error) {
	s := &Store{dir: dir}
	if err := os.MkdirAll(s.layoutDir(), 0o755); err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	if _, err := os.Stat(filepath.Join(s.layoutDir(), "index.json")); errors.Is(err, os.ErrNotExist) {
		if _, err := layout.Write(s.layoutDir(), empty.Index); err != nil {
			return nil, fmt.Errorf("image store: %w", err)
		}
	}
	return s, nil
}

func (s *Store) layoutDir() string { return filepath.Join(s.dir, "oci") }

// lock serialises changes to the layout's index.json between processes.
func (s *Store) lock() (func(), error) {
	unlock, err := flock.Lock(filepath.Join(s.dir, "lock"))
	if err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	return unlock, nil
}

// ParseRef parses a user's image reference (a tag defaults to latest).
func ParseRef(s string) (name.Reference, error) {
	r, err := name.ParseReference(s)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", s, err)
	}
	return r, nil
}

// Put records img in the store under ref, replacing what ref named.
func (s *Store) Put(ref name.Reference, img v1.Image) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	p := layout.Path(s.layoutDir())
	err = p.ReplaceImage(img, match.Annotation(AnnRefName, ref.Name()),
		layout.WithAnnotations(map[string]string{AnnRefName: ref.Name()}),
		layout.WithPlatform(Platform))
	if err != nil {
		return fmt.Errorf("image store: %w", err)
	}
	return nil
}

// Lookup returns the image the store holds for ref: by name for a tag, by
// manifest digest for a digest reference.
func (s *Store) Lookup(ref name.Reference) (v1.Image, error) {
	p := layout.Path(s.layoutDir())
	ii, err := p.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("image store: %w", err)
	}
	d, byDigest := ref.(name.Digest)
	for _, desc := range im.Manifests {
		if !desc.MediaType.IsImage() {
			continue
		}
		if byDigest && desc.Digest.String() == d.DigestStr() || !byDigest && desc.Annotations[AnnRefName] == ref.Name() {
			img, err := p.Image(desc.Digest)
			if err != nil {
				return nil, fmt.Errorf("image store: %s: %w", ref, err)
			}
			return img, nil
		}
	}
	return nil, fmt.Errorf("%s: %w", ref.Name(), ErrNotFound)
}

// remoteOptions: Docker's credential configuration (~/.docker/config.json,
// its credential helpers) and the riscv64 entry of a multi-platform index.
func remoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithPlatform(Platform),
	}
}

// Push sends the image the store holds for ref to ref's registry and
// returns its digest.
func (s *Store) Push(ctx context.Context, ref name.Reference) (v1.Hash, error) {
	img, err := s.Lookup(ref)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Write(ref, img, remoteOptions(ctx)...); err != nil {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref.Name(), err)
	}
	return img.Digest()
}

// Pull fetches ref (for a multi-platform index, its linux/riscv64 image),
// checks that it is a Runikraft image, stores it under ref and returns it.
func (s *Store) Pull(ctx context.Context, ref name.Reference) (v1.Image, error) {
	img, err := remote.Image(ref, remoteOptions(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref.Name(), err)
	}
	if err := Check(img); err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref.Name(), err)
	}
	// Written from the registry's bytes, each blob checked against its
	// digest on the way.
	if err := s.Put(ref, img); err != nil {
		return nil, err
	}
	return s.Lookup(ref)
}

// Check verifies that img is a linux/riscv64 image with the one layer a
// Runikraft image has.
func Check(img v1.Image) error {
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	if cf.OS != Platform.OS || cf.Architecture != Platform.Architecture {
		return fmt.Errorf("image is for %s/%s, not %s", cf.OS, cf.Architecture, Platform)
	}
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	if len(m.Layers) != 1 {
		return fmt.Errorf("image has %d layers; a Runikraft image has one", len(m.Layers))
	}
	// Pull stores the layer as the registry sends it, checked against the
	// size the manifest declares: bound that before fetching anything.
	if sz := m.Layers[0].Size; sz <= 0 || sz > MaxImageSize+1<<20 {
		return fmt.Errorf("image layer of %d bytes; a Runikraft image's is 1..%d", sz, MaxImageSize+1<<20)
	}
	if _, err := ParseMeta(m.Annotations); err != nil {
		return err
	}
	return nil
}

// Kernel returns the path of img's bootable file, extracted once into
// the store's images/ directory under img's manifest digest.
func (s *Store) Kernel(img v1.Image) (string, error) {
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(s.dir, "images", d.Algorithm+"-"+d.Hex)
	out := filepath.Join(dir, "kernel")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("image store: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".kernel-*")
	if err != nil {
		return "", fmt.Errorf("image store: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := ExtractKernel(img, tmp); err != nil {
		tmp.Close()
		return "", fmt.Errorf("%s: %w", d, err)
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return "", fmt.Errorf("image store: %w", err)
	}
	return out, nil
}

// ExtractKernel copies the file at KernelPath in img's layer to w. The
// layer is untrusted: only that one regular file is read, and at most
// MaxImageSize bytes of it.
func ExtractKernel(img v1.Image, w io.Writer) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	if len(layers) != 1 {
		return fmt.Errorf("image has %d layers; a Runikraft image has one", len(layers))
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		return fmt.Errorf("layer: %w", err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("layer has no %s", KernelPath)
		}
		if err != nil {
			return fmt.Errorf("layer: %w", err)
		}
		if "/"+strings.TrimPrefix(path.Clean("/"+h.Name), "/") != KernelPath {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			return fmt.Errorf("layer: %s is not a regular file", KernelPath)
		}
		if h.Size <= 0 || h.Size > MaxImageSize {
			return fmt.Errorf("layer: %s has size %d, want 1..%d", KernelPath, h.Size, int64(MaxImageSize))
		}
		n, err := io.Copy(w, io.LimitReader(tr, h.Size))
		if err != nil {
			return fmt.Errorf("layer: %w", err)
		}
		if n != h.Size {
			return fmt.Errorf("layer: %s truncated at %d of %d bytes", KernelPath, n, h.Size)
		}
		return nil
	}
}

// WriteLayout writes img as an OCI layout in dir (created, or added to if
// it is one already), named ref when ref is not empty, for moving images
// without a registry.
func WriteLayout(dir string, img v1.Image, ref string) (err error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return fmt.Errorf("oci layout %s: %w", dir, err)
		}
	}
	opts := []layout.Option{layout.WithPlatform(Platform)}
	matcher := func(v1.Descriptor) bool { return false }
	if ref != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{AnnRefName: ref}))
		matcher = match.Annotation(AnnRefName, ref)
	} else {
		// Without a name, the same image is not listed twice.
		d, err := img.Digest()
		if err != nil {
			return err
		}
		matcher = match.Digests(d)
	}
	if err := p.ReplaceImage(img, matcher, opts...); err != nil {
		return fmt.Errorf("oci layout %s: %w", dir, err)
	}
	return nil
}
