package scenario

// All returns the scenario catalogue, grouped by spec area.
func All() []*Scenario {
	var all []*Scenario
	for _, group := range [][]*Scenario{
		sessionScenarios(),
		violationScenarios(),
		authScenarios(),
		rpcScenarios(),
		pubsubScenarios(),
		uriScenarios(),
		messageScenarios(),
		transportScenarios(),
		serializationScenarios(),
		advancedRPCScenarios(),
		advancedPubSubScenarios(),
		metaScenarios(),
		moreAdvancedScenarios(),
	} {
		all = append(all, group...)
	}
	return all
}
