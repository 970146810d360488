// Command cohortd is the Cohort node and command-line client.
package main

import (
	"fmt"
	"os"

	svrcmd "github.com/cosmos/cosmos-sdk/server/cmd"

	"github.com/cohortchain/cohort/app"
	"github.com/cohortchain/cohort/cmd/cohortd/cmd"
)

func main() {
	if err := svrcmd.Execute(cmd.NewRootCmd(), "COHORTD", app.DefaultNodeHome); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
