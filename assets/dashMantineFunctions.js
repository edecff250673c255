// Functions that dash-mantine-components props reference by name ({"function": "<name>"}).
var dmcfuncs = (window.dashMantineFunctions = window.dashMantineFunctions || {});

// The member search's options are already filtered (fuzzy, typo-tolerant) on the server:
// show them as they come instead of filtering them again by substring in the browser.
dmcfuncs.memberSearchFilter = function (input) {
  return input.options;
};
