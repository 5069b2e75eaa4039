package schedules

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/pthv/reach/internal/deploy"
)

func TestSyncScheduleNames(t *testing.T) {
	valid := regexp.MustCompile(`^[0-9A-Za-z_.-]{1,64}$`)
	a, b := Name("pthv-reach", "demo-usd", "sis"), Name("pthv-reach", "demo", "usd-sis")
	if a == b {
		t.Fatalf("demo-usd/sis and demo/usd-sis share the schedule %s", a)
	}
	if !strings.HasPrefix(a, "pthv-reach-sis-demo-usd-sis-") || len(a) != len("pthv-reach-sis-demo-usd-sis-")+8 {
		t.Errorf("name %s is not {prefix}-sis-{district}-{connection}-{hash8}", a)
	}
	if Name("pthv-reach", "demo-usd", "sis") != a {
		t.Error("the name is not stable")
	}
	long := strings.Repeat("d", 64)
	cases := [][3]string{{"pthv-reach", "demo-usd", "sis"}, {"pthv-reach", "demo", "usd-sis"},
		{strings.Repeat("p", 40), long, strings.Repeat("c", 64)}, {strings.Repeat("p", 40), long, strings.Repeat("c", 63)},
		{"p-1", "A.b_c", "x"}}
	seen := map[string]bool{}
	for _, c := range cases {
		n, tf := Name(c[0], c[1], c[2]), TerraformName(c[0], c[1], c[2])
		if !valid.MatchString(n) || !valid.MatchString(tf) {
			t.Errorf("%v: names %q, %q are not valid schedule names", c, n, tf)
		}
		if n == tf {
			t.Errorf("%v: the CLI's name is Terraform's (%s)", c, n)
		}
		if seen[n] {
			t.Errorf("%v: %s named twice", c, n)
		}
		seen[n] = true
	}
	// Long ids are cut, and the hash still tells them apart.
	if x, y := Name(strings.Repeat("p", 40), long, strings.Repeat("c", 64)), Name(strings.Repeat("p", 40), long, strings.Repeat("c", 63)); x == y || len(x) != 64 {
		t.Errorf("long ids: %s and %s", x, y)
	}
	if got := TerraformName("pthv-reach", "demo-usd", "sis"); got != "pthv-reach-sync-demo-usd-sis" {
		t.Errorf("Terraform's name %s", got)
	}
}

// The names the package assumes are the ones infra/modules/sis gives.
func TestTheNamesAreTerraforms(t *testing.T) {
	b, err := os.ReadFile("../../infra/modules/sis/main.tf")
	if err != nil {
		t.Fatal(err)
	}
	tf := string(b)
	n := deploy.NamesFor("${var.name_prefix}")
	for _, want := range []string{
		`schedule_name = substr("${var.name_prefix}-sync-${replace(k, "/", "-")}", 0, 64)`, // TerraformName
		`name               = "` + n.SyncSchedulerRole() + `"`,
		`name                      = "` + n.SyncSchedulerDLQ() + `"`,
		`scheduledTime = "` + ScheduledTime + `"`,
		`districtId    = each.value.district`, `connectionId  = each.value.connection`,
	} {
		if !strings.Contains(tf, want) {
			t.Errorf("infra/modules/sis/main.tf has no %s", want)
		}
	}
}
