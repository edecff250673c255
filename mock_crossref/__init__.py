"""Mock Crossref REST API and the deterministic demo population (see docs/mock.md).

* :class:`~mock.population.Population`: ~33,000 fictitious members; per member, type,
  period and issued year it holds only *counts* (works and works-with-element), never works.
* :mod:`mock.engine`: derives any work from (member, type, period, index) so the counts
  hold exactly; vectorised filter counts, samples and pages (filters parsed by
  :mod:`mock.query`, facets in :mod:`mock.facets`, JSON records built by
  :mod:`mock.records`).
* :class:`~mock.server.MockCrossref`: stdlib HTTP server on 127.0.0.1 with Crossref's
  routes, JSON shapes, headers, errors, rate limiting and injectable faults.

No httpx here (docs/architecture.md §1): only the standard library, numpy.
"""

from __future__ import annotations

from mock_crossref.population import Population
from mock_crossref.server import FaultConfig, MockCrossref, RequestRecord

__all__ = ["FaultConfig", "MockCrossref", "Population", "RequestRecord"]
