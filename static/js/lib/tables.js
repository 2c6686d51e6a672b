// Tables that become stacked cards on a phone (class sm-table-stack, CSS in common.css): each cell
// carries its column's header as data-label, which the narrow layout shows above the value.

export function labelCells(root = document) {
  for (const table of root.querySelectorAll('table.sm-table-stack')) {
    const heads = [...table.querySelectorAll('thead th')].map((th) => th.textContent.trim());
    for (const row of table.querySelectorAll('tbody tr')) {
      [...row.children].forEach((cell, i) => {
        if (heads[i] && cell.colSpan === 1) cell.dataset.label = heads[i];
      });
    }
  }
}
