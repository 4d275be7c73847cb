// Package appbuild builds third-party application images for the
// benchmarks through tests/toolchain, the one place that knows how to
// build them from Debian's source archive, and keeps them in a directory.
package appbuild

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// Build runs the tests/toolchain tests named by the regexp run (from the
// repository's root) with RUNIKRAFT_KEEP_IMAGES=keep, so the images they
// build stay in keep under their names; what names the step in errors.
func Build(ctx context.Context, keep, run, what string, timeout time.Duration) error {
	if err := os.MkdirAll(keep, 0o755); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-timeout", timeout.String(), "-run", run, "./tests/toolchain/")
	cmd.Env = append(os.Environ(), "RUNIKRAFT_KEEP_IMAGES="+keep)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s through tests/toolchain: %v\n%s", what, err, out)
	}
	return nil
}
