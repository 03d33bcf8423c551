// Command gencontract derives the wire contract (internal/conformance/contract) from the official
// documents: those in ISCMOCK_SPEC_DIR, else in ../shared/specs beside the module. Run it as
// `go generate ./internal/conformance` whenever the documents change.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/iscmock/iscmock/internal/conformance"
)

func main() {
	if err := generate(); err != nil {
		fmt.Fprintln(os.Stderr, "gencontract:", err)
		os.Exit(1)
	}
}

func generate() error {
	dir, _ := conformance.SpecDir()
	out := filepath.Join(conformance.ModuleRoot(), "internal", "conformance", "contract")
	for _, v := range conformance.Versions {
		data, err := os.ReadFile(filepath.Join(dir, v.File))
		if err != nil {
			return fmt.Errorf("%w (fetch the documents with scripts/fetch-specs, or set ISCMOCK_SPEC_DIR)", err)
		}
		contract, err := conformance.DeriveContract(v.Name, data)
		if err != nil {
			return fmt.Errorf("%s: %w", v.File, err)
		}
		path := filepath.Join(out, conformance.ContractFile(v.Name))
		if err := os.WriteFile(path, contract, 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", path)
	}
	return nil
}
