/* dce.c: keep only nodes some graph output, state update or check depends on
 * (graph inputs and updated states always stay: they are part of the generated
 * API), and count each node's uses. */
#include "passes.h"

void pass_dce(Plan *p) {
  Graph *g = p->g;
  bool *live = ir_alloc_array(g, (size_t)g->nnodes, sizeof *live);
  for (int k = 0; k < g->noutputs; k++) live[g->outputs[k]->id] = true;
  for (int k = 0; k < g->ninputs; k++) live[g->inputs[k]->id] = true;
  for (int k = 0; k < g->nupdates; k++) live[g->upd_value[k]->id] = live[g->upd_state[k]->id] = true;
  for (int k = 0; k < g->nchecks; k++) live[g->checks[k]->id] = true;
  for (int i = p->nnodes - 1; i >= 0; i--) {
    Node *n = p->nodes[i];
    n->nuses = 0;
    if (!live[n->id]) continue;
    for (int k = 0; k < n->nin; k++) live[n->in[k]->id] = true;
  }
  int m = 0;
  for (int i = 0; i < p->nnodes; i++)
    if (live[p->nodes[i]->id]) p->nodes[m++] = p->nodes[i];
  p->nnodes = m;
  for (int i = 0; i < p->nnodes; i++)
    for (int k = 0; k < p->nodes[i]->nin; k++) p->nodes[i]->in[k]->nuses++;
  for (int k = 0; k < g->noutputs; k++) g->outputs[k]->nuses++;
  for (int k = 0; k < g->nupdates; k++) g->upd_value[k]->nuses++;
  for (int k = 0; k < g->nchecks; k++) g->checks[k]->nuses++;
}
