package main

import "github.com/mixopt/mixopt/pipeline"

// reporter returns the report stage of plan.
func (a *app) reporter() pipeline.Reporter {
	return nil
}
