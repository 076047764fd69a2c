// The ticket page: the dispatch form's technician list follows the chosen department.
// Everything else is plain HTML forms (they work without this script).
"use strict";
(function () {
  const department = document.getElementById("dispatch-department");
  const technician = document.getElementById("dispatch-technician");
  if (!department || !technician) return;
  function follow() {
    const chosen = department.value;
    for (const option of technician.options) {
      if (!option.value) continue;
      const fits = !chosen || option.dataset.department === chosen || option.dataset.department === "";
      option.hidden = !fits;
      option.disabled = !fits;
      if (!fits && option.selected) technician.value = "";
    }
  }
  department.addEventListener("change", follow);
  follow();
})();
