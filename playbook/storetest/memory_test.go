package storetest

import (
	"testing"

	"github.com/klaxonhq/klaxon/playbook"
)

func TestMemoryContract(t *testing.T) {
	Run(t, func(t *testing.T) (playbook.Store, func() playbook.Store) { return NewMemory(), nil })
}

func TestMemoryDeployLog(t *testing.T) {
	RunDeployLog(t, func(t *testing.T) (playbook.Store, func() playbook.Store) { return NewMemory(), nil })
}
