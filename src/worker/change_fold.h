#pragma once

#include "base/result.h"
#include "core/change_event.h"
#include "core/engine.h"
#include "core/interfaces.h"

namespace mv::worker {

// Folds one change into `builder`. An edit or a delete of a tracking event (a MongoDB
// source's update, replace or delete; the embedded source only adds events) cannot be
// retracted from the summary's join: the shipment's summary is derived again from the
// events `source` holds now (core::BatchBuilder::ReplaceTracking). The shipment is named
// by the new document, or by a delete's pre-image; a delete without one changes nothing.
// Errors only when a read fails (the batch must then be abandoned).
Status FoldChange(core::BatchBuilder& builder, core::SourceReader& source,
                  const core::ChangeEvent& event);

}  // namespace mv::worker
