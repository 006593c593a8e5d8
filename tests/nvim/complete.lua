-- Headless check, run after init.lua with a .sql file open at "SELECT * FROM ": wait for the
-- server, ask for completion at the end of line 1, apply the first suggestion as the editor would,
-- and write what happened as JSON to $SQLCOMPLETE_OUT; then quit.
local out = os.getenv("SQLCOMPLETE_OUT")
local buf = vim.api.nvim_get_current_buf()

local function finish(result)
  local f = assert(io.open(out, "w"))
  f:write(vim.fn.json_encode(result))
  f:close()
  vim.cmd("qall!")
end

local ready = vim.wait(120000, function()
  for _, c in pairs(vim.lsp.buf_get_clients(buf)) do
    if c.initialized then return true end
  end
  return false
end, 50)
if not ready then
  finish({ error = "the server did not start: see " .. vim.lsp.get_log_path() })
  return
end

local line = vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1]
local params = { textDocument = vim.lsp.util.make_text_document_params(buf),
                 position = { line = 0, character = #line } }
local responses, err = vim.lsp.buf_request_sync(buf, "textDocument/completion", params, 120000)
if not responses then
  finish({ error = "no completion response: " .. tostring(err) })
  return
end
local items = {}
for _, resp in pairs(responses) do
  if resp.err then
    finish({ error = vim.inspect(resp.err) })
    return
  end
  local result = resp.result or {}
  for _, item in ipairs(result.items or result) do
    table.insert(items, { label = item.label, newText = item.textEdit and item.textEdit.newText or item.insertText,
                          sortText = item.sortText })
  end
end
table.sort(items, function(a, b) return (a.sortText or "") < (b.sortText or "") end)
local applied = nil
if #items > 0 then
  local first = nil
  for _, resp in pairs(responses) do first = (resp.result.items or resp.result)[1] end
  vim.lsp.util.apply_text_edits({ first.textEdit }, buf, "utf-16")
  applied = vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1]
end
finish({ line = line, items = items, applied = applied })
