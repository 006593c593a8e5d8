-- Neovim (0.7+) config that starts the language server (python -m sqlcomplete.lsp) for .sql buffers; tests/test_lsp_nvim.py runs it headless.
-- Environment: SQLCOMPLETE_PYTHON (the venv's python), 
-- SQLCOMPLETE_ARGS (a JSON list of extra server arguments, e.g. ["--ckpt", "sqlcomplete/models/default"]).
vim.cmd("filetype on")
local python = os.getenv("SQLCOMPLETE_PYTHON") or "python3"
local extra = vim.fn.json_decode(os.getenv("SQLCOMPLETE_ARGS") or "[]")

vim.api.nvim_create_autocmd("FileType", {
  pattern = "sql",
  callback = function(args)
    local cmd = { python, "-m", "sqlcomplete.lsp" }
    vim.list_extend(cmd, extra)
    -- vim.lsp.start (0.8+) finds a running client by itself; 0.7 has start_client + buf_attach_client
    local id = vim.lsp.start_client({
      name = "sqlcomplete",
      cmd = cmd,
      root_dir = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(args.buf), ":p:h"),
      flags = { debounce_text_changes = 50 },
    })
    vim.lsp.buf_attach_client(args.buf, id)
    vim.bo[args.buf].omnifunc = "v:lua.vim.lsp.omnifunc" -- <C-x><C-o> asks the server
  end,
})
