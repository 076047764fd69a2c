// The dispatch board: a card dragged onto another technician's lane is reassigned through the
// card's own form (the select and the button work without this script).
"use strict";
(function () {
  const board = document.getElementById("board");
  if (!board) return;
  board.addEventListener("dragstart", (event) => {
    const card = event.target.closest(".board-order");
    if (card && event.dataTransfer) event.dataTransfer.setData("text/plain", card.dataset.order);
  });
  board.addEventListener("dragover", (event) => {
    if (event.target.closest(".lane")) event.preventDefault();
  });
  board.addEventListener("drop", (event) => {
    const lane = event.target.closest(".lane");
    if (!lane || !event.dataTransfer) return;
    event.preventDefault();
    const id = event.dataTransfer.getData("text/plain");
    const select = document.getElementById(`bo-${id}-tech`);
    const technician = lane.dataset.technician;
    if (!select || !technician || technician === "0" || select.value === technician) return;
    select.value = technician;
    select.form.requestSubmit();
  });
})();
