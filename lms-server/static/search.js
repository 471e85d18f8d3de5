// « Utiliser ma position » on the search form: where the browser offers geolocation, a button
// asks for the position and writes it into the place field as "latitude, longitude", which the
// search reads like any typed coordinates. Without this script (or without permission) the form
// works as it is.
(function () {
  "use strict";
  var form = document.querySelector("form.search");
  var field = document.getElementById("near");
  var status = document.getElementById("position-status");
  if (!form || !field || !status || !("geolocation" in navigator)) {
    return;
  }
  var button = document.createElement("button");
  button.type = "button";
  button.className = "secondary-plain use-position";
  button.textContent = "Utiliser ma position";
  // After the submit button, which stays the form's first button (Enter submits with it).
  form.appendChild(button);
  form.appendChild(status);
  button.addEventListener("click", function () {
    button.disabled = true;
    status.textContent = "Recherche de votre position…";
    navigator.geolocation.getCurrentPosition(
      function (position) {
        field.value = position.coords.latitude.toFixed(5) + ", " + position.coords.longitude.toFixed(5);
        status.textContent = "Position trouvée : recherche en cours.";
        form.submit();
      },
      function () {
        button.disabled = false;
        status.textContent = "Position indisponible : indiquez votre commune ou votre code postal.";
      },
      { enableHighAccuracy: false, timeout: 10000, maximumAge: 600000 }
    );
  });
})();
