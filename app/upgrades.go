package app

import (
	"context"
	"fmt"

	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	"github.com/cosmos/cosmos-sdk/types/module"
	upgradetypes "github.com/cosmos/cosmos-sdk/x/upgrade/types"
)

// Upgrade is one named software upgrade: the store changes it makes and the
// migration it runs when governance's plan of that name comes due.
type Upgrade struct {
	// Name matches the name of the governance upgrade plan.
	Name string
	// StoreUpgrades adds, renames or deletes module stores at the upgrade height.
	StoreUpgrades storetypes.StoreUpgrades
	// Migrate runs at the upgrade height; nil runs the modules' registered
	// migrations (RunMigrations) and nothing else.
	Migrate func(ctx context.Context, app *App, plan upgradetypes.Plan, fromVM module.VersionMap) (module.VersionMap, error)
}

// Upgrades is the registry of every upgrade this binary knows, oldest first.
// A new upgrade appends one entry here and nowhere else.
var Upgrades = []Upgrade{}

// registerUpgradeHandlers installs a handler for every entry of Upgrades and,
// when the node restarts at a pending upgrade's height, the store loader
// that applies its store changes.
func (app *App) registerUpgradeHandlers() {
	if err := app.RegisterUpgrades(Upgrades); err != nil {
		panic(err)
	}
}

// RegisterUpgrades installs handlers and store loaders for upgrades.
func (app *App) RegisterUpgrades(upgrades []Upgrade) error {
	seen := map[string]bool{}
	for _, u := range upgrades {
		if u.Name == "" || seen[u.Name] {
			return fmt.Errorf("upgrade name %q is empty or repeated", u.Name)
		}
		seen[u.Name] = true
		u := u
		app.UpgradeKeeper.SetUpgradeHandler(u.Name, func(ctx context.Context, plan upgradetypes.Plan, fromVM module.VersionMap) (module.VersionMap, error) {
			if u.Migrate != nil {
				return u.Migrate(ctx, app, plan, fromVM)
			}
			return app.ModuleManager.RunMigrations(ctx, app.configurator, fromVM)
		})
	}

	info, err := app.UpgradeKeeper.ReadUpgradeInfoFromDisk()
	if err != nil {
		return fmt.Errorf("reading upgrade-info.json: %w", err)
	}
	if info.Name == "" || app.UpgradeKeeper.IsSkipHeight(info.Height) {
		return nil
	}
	for _, u := range upgrades {
		if u.Name == info.Name {
			su := u.StoreUpgrades
			app.SetStoreLoader(upgradetypes.UpgradeStoreLoader(info.Height, &su))
		}
	}
	return nil
}
