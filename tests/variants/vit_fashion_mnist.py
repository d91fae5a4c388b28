# ruff: noqa: E501 (the edits quote the solution's lines as they are)
"""vit_fashion_mnist's verdict corpus: correct-but-different variants (full marks) and wrong ones (the broken
question loses what the mistake costs), each one change to the solution.

Questions and their points: prenorm 2 (fn(LayerNorm(x)) on three shapes 0.5 each, keyword arguments 0.5),
feedforward 2 (shapes 0.5 x 2, the numbers 1), attention 3.5 (the equations on three shapes 0.5 each, torch's
scaled_dot_product_attention 1, rows summing to one 0.5, one full-width head without projection 0.5), transformer 3
(its own forward 0.5, shapes 0.5 x 2, layers of their own 0.5, the numbers at depth 3 1), vit_forward 6 (shapes
0.25 x 6, positions 1, the class token used 1, the patch-size check 1, the numbers with cls 1 and mean 0.5 pooling),
param_count 2, train_epoch 2, evaluate 2.5, accuracy_threshold 3. The Transformer is judged around the reference's
blocks and the ViT around the reference's Transformer, so a mistake in a block costs that block's question; the
parameter count and the learning check are the whole model's.
"""

from variants import Variant

# -- pieces of the solution that the edits change ---------------------------------------------------------

QKV_SPLIT = '''        qkv = self.to_qkv(x).chunk(3, dim=-1)                                    # 3 x (b, n, h*d)
        q, k, v = (rearrange(t, "b n (h d) -> b h n d", h=self.heads) for t in qkv)'''
DOTS = '''        dots = einsum("b h i d, b h j d -> b h i j", q, k) * self.scale         # (b, h, n, n)'''
MIX = '''        out = einsum("b h i j, b h j d -> b h i d", attn, v)                    # (b, h, n, d)
        out = rearrange(out, "b h n d -> b n (h d)")'''
TO_OUT = '''        self.to_out = nn.Sequential(nn.Linear(inner_dim, dim), nn.Dropout(dropout)) if project_out else nn.Identity()'''
TO_QKV = "        self.to_qkv = nn.Linear(dim, inner_dim * 3, bias=False)"
LAYERS = '''        for _ in range(depth):
            self.layers.append(nn.ModuleList([
                PreNorm(dim, Attention(dim, heads=heads, dim_head=dim_head, dropout=dropout)),
                PreNorm(dim, FeedForward(dim, mlp_dim, dropout=dropout)),
            ]))'''
BLOCK_LOOP = '''        for attn, ff in self.layers:
            x = attn(x) + x
            x = ff(x) + x
        return x'''
FF_NET = '''        self.net = nn.Sequential(
            nn.Linear(dim, hidden_dim),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, dim),
            nn.Dropout(dropout),
        )'''
FF_FORWARD = "        return self.net(x)"
PRENORM_FORWARD = "        return self.fn(self.norm(x), **kwargs)"
CLS = '''        cls_tokens = repeat(self.cls_token, "1 1 d -> b 1 d", b=b)              # (b, 1, dim)'''
POS = "        x = x + self.pos_embedding[:, : n + 1]"
POOL = "        x = x.mean(dim=1) if self.pool == \"mean\" else x[:, 0]                   # (b, dim)"
ASSERT = '''        assert image_height % patch_height == 0 and image_width % patch_width == 0, \\
            "Image dimensions must be divisible by the patch size."'''
PATCHES = '''            Rearrange("b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=patch_height, p2=patch_width),'''

VARIANTS = [
    # -- correct, written another way: full marks ---------------------------------------------------------
    Variant("bv-ok_attention_separate_projections", "one Linear each for queries, keys and values is to_qkv cut in "
            "three",
            edits=((TO_QKV, "        self.to_q = nn.Linear(dim, inner_dim, bias=False)\n"
                            "        self.to_k = nn.Linear(dim, inner_dim, bias=False)\n"
                            "        self.to_v = nn.Linear(dim, inner_dim, bias=False)"),
                   (QKV_SPLIT, '''        q, k, v = (rearrange(f(x), "b n (h d) -> b h n d", h=self.heads)
                   for f in (self.to_q, self.to_k, self.to_v))'''))),
    Variant("bv-ok_attention_view_transpose", "view and transpose split and merge the heads as rearrange does",
            edits=((QKV_SPLIT, '''        b, n, _ = x.shape
        q, k, v = (t.view(b, n, self.heads, -1).transpose(1, 2) for t in self.to_qkv(x).chunk(3, dim=-1))'''),
                   (MIX, '''        out = einsum("b h i j, b h j d -> b h i d", attn, v)
        out = out.transpose(1, 2).reshape(b, n, -1)'''))),
    Variant("bv-ok_attention_matmul_sqrt", "q @ k^T / sqrt(dim_head) and attn @ v are the two einsums and the scale",
            edits=((DOTS, "        dots = torch.matmul(q, k.transpose(-1, -2)) / q.shape[-1] ** 0.5"),
                   ('        out = einsum("b h i j, b h j d -> b h i d", attn, v)                    # (b, h, n, d)',
                    "        out = attn @ v"))),
    Variant("bv-ok_attention_keys_first_third", "which third of to_qkv serves as keys is a labelling of its rows",
            edits=((QKV_SPLIT, QKV_SPLIT.replace("q, k, v = ", "k, q, v = ")),)),
    Variant("bv-ok_transformer_list_comprehension", "a ModuleList built in one comprehension holds the same layers",
            edits=(("        self.layers = nn.ModuleList([])\n" + LAYERS, '''        self.layers = nn.ModuleList([
            nn.ModuleList([PreNorm(dim, Attention(dim, heads=heads, dim_head=dim_head, dropout=dropout)),
                           PreNorm(dim, FeedForward(dim, mlp_dim, dropout=dropout))])
            for _ in range(depth)
        ])'''),)),
    Variant("bv-ok_vit_cls_expand_whole_pos", "expand gives the class token to every image, as repeat does; with "
            "images of the size built for, the slice of pos_embedding is the whole table; to_latent is the identity",
            edits=((CLS, "        cls_tokens = self.cls_token.expand(b, -1, -1)"),
                   (POS, "        x = x + self.pos_embedding"),
                   ("        return self.mlp_head(self.to_latent(x))", "        return self.mlp_head(x)"))),
    Variant("bv-ok_vit_patches_by_unfold", "unfold and permute cut the same patches, pixels in the same order",
            edits=((PATCHES, "            Patches(patch_height, patch_width),"),
                   ("class ViT(nn.Module):", '''class Patches(nn.Module):
    def __init__(self, ph, pw):
        super().__init__()
        self.ph, self.pw = ph, pw

    def forward(self, img):
        b, c = img.shape[:2]
        x = img.unfold(2, self.ph, self.ph).unfold(3, self.pw, self.pw)  # (b, c, h, w, p1, p2)
        return x.permute(0, 2, 3, 4, 5, 1).reshape(b, -1, self.ph * self.pw * c)


class ViT(nn.Module):'''))),
    Variant("bv-ok_vit_mean_without_class_token", "'the mean over tokens' read as over the patch tokens",
            edits=((POOL, "        x = x[:, 1:].mean(dim=1) if self.pool == \"mean\" else x[:, 0]"),)),
    Variant("bv-ok_vit_divisible_value_error", "a ValueError refuses the size as an assert does",
            edits=((ASSERT, '''        if image_height % patch_height or image_width % patch_width:
            raise ValueError("the patch size must divide the image size")'''),)),
    Variant("bv-ok_vit_functional_emb_dropout", "F.dropout with the module's training flag is nn.Dropout",
            edits=(("        self.dropout = nn.Dropout(emb_dropout)", "        self.emb_dropout = emb_dropout"),
                   ("        x = self.dropout(x)", "        x = F.dropout(x, self.emb_dropout, self.training)"))),
    # -- wrong: the question the mistake is in loses what it costs -----------------------------------------
    Variant("bv-wrong_transformer_shared_layers", "one block appended depth times: the layers share their weights, so "
            "the depth-3 output differs and the seed model has one layer's parameters",
            edits=((LAYERS, '''        block = nn.ModuleList([
            PreNorm(dim, Attention(dim, heads=heads, dim_head=dim_head, dropout=dropout)),
            PreNorm(dim, FeedForward(dim, mlp_dim, dropout=dropout)),
        ])
        for _ in range(depth):
            self.layers.append(block)'''),),
            lost={"transformer": 1.5, "param_count": 2},
            says=(("transformer", "layers share their weights"), ("param_count", "share their weights"))),
    Variant("bv-wrong_transformer_first_layer_only", "the loop applies one layer and skips the rest",
            edits=(("        for attn, ff in self.layers:\n", "        for attn, ff in self.layers[:1]:\n"),),
            lost={"transformer": 1}, says=(("transformer", "Each layer once, in order"),)),
    Variant("bv-wrong_transformer_ff_before_attention", "each layer runs its feed-forward before its attention",
            edits=((BLOCK_LOOP, '''        for attn, ff in self.layers:
            x = ff(x) + x
            x = attn(x) + x
        return x'''),),
            lost={"transformer": 1}, says=(("transformer", "then x = ff(x) + x"),)),
    Variant("bv-wrong_attention_never_projects", "without to_out the heads are never mixed back into the model width",
            edits=((TO_OUT, "        self.to_out = nn.Identity()"),),
            lost={"attention": 2.5, "param_count": 2, "accuracy_threshold": 3},
            says=(("attention", "has no to_out projection"),)),
    Variant("bv-wrong_attention_softmax_not_kept", "the weights come from F.softmax, not self.attend, so they "
            "cannot be read as the notebook asks",
            edits=(("        attn = self.attend(dots)", "        attn = F.softmax(dots, dim=-1)"),),
            lost={"attention": 0.5}, says=(("attention", "self.attend was never called"),)),
    Variant("bv-wrong_feedforward_gelu", "GELU is not the ReLU the notebook asks for",
            edits=(("            nn.ReLU(),\n            nn.Dropout(dropout),",
                    "            nn.GELU(),\n            nn.Dropout(dropout),"),),
            lost={"feedforward": 1}, says=(("feedforward", "Linear(dim, hidden_dim), ReLU"),)),
    Variant("bv-wrong_prenorm_after", "normalising fn's output is post-norm, not PreNorm; it still passes kwargs "
            "through to fn, which earns that check's 0.5",
            edits=((PRENORM_FORWARD, "        return self.norm(self.fn(x, **kwargs))"),),
            lost={"prenorm": 1.5}, says=(("prenorm", "Normalise x with nn.LayerNorm(dim), then apply fn"),)),
    Variant("bv-wrong_vit_no_positions", "the positional embedding is made but never added",
            edits=((POS, "        pass"),),
            lost={"vit_forward": 1.5}, says=(("vit_forward", "+ pos_embedding"),)),
    Variant("bv-wrong_vit_pool_ignored", "pool='mean' still classifies the class token",
            edits=((POOL, "        x = x[:, 0]"),),
            lost={"vit_forward": 0.5}, says=(("vit_forward", "the mean of the transformer's output over the tokens"),)),
]

# -- training judged by effect (class 1, 4) ----------------------------------------------------------------------
# train_epoch runs on the graders' probe with plain SGD and is replayed on the host; evaluate earns its "changes
# nothing" point only with figures that show it measured (gradekit.shared_checks).

TRAIN_STEP = """        optimizer.zero_grad()
        loss = F.nll_loss(F.log_softmax(model(data), dim=1), target)
        loss.backward()
        optimizer.step()
"""

TRAINING_BY_EFFECT = [
    Variant("tr-ok_train_epoch_model_zero_grad", "model.zero_grad() clears the same parameters the optimizer holds",
            edits=((TRAIN_STEP, TRAIN_STEP.replace("optimizer.zero_grad()", "model.zero_grad()")),)),
    Variant("tr-ok_train_epoch_cross_entropy", "F.cross_entropy is log_softmax followed by nll_loss",
            edits=((TRAIN_STEP, TRAIN_STEP.replace("F.nll_loss(F.log_softmax(model(data), dim=1), target)",
                                                   "F.cross_entropy(model(data), target)")),)),
    Variant("tr-ok_train_epoch_logs_after_every_100_batches",
            "'every 100 batches' read as after batch 100, 200, ...: the loss of every 100th batch all the same",
            edits=(("        if i % 100 == 0:\n            loss_history.append(loss.item())",
                    "        if (i + 1) % 100 == 0:\n            loss_history.append(loss.item())"),)),
    Variant("tr-wrong_train_epoch_no_zero_grad", "without zero_grad each step uses the sum of every gradient so far",
            edits=((TRAIN_STEP, TRAIN_STEP.replace("        optimizer.zero_grad()\n", "")),),
            lost={"train_epoch": 1, "accuracy_threshold": 3},
            says=(("train_epoch", "the gradients add up across batches"),)),
    Variant("tr-wrong_train_epoch_no_log_softmax", "nll_loss of raw outputs is not the cross-entropy of the classes",
            edits=((TRAIN_STEP, TRAIN_STEP.replace("F.log_softmax(model(data), dim=1)", "model(data)")),),
            lost={"train_epoch": 1, "accuracy_threshold": 3},
            says=(("train_epoch", "apply F.log_softmax(..., dim=1) first"),)),
    Variant("tr-wrong_vit_evaluate_returns_constants",
            "an evaluate that measures nothing earns nothing for changing nothing",
            edits=(("    model.eval()\n    total_loss, correct = 0.0, 0\n",
                    "    return 2.3, 0.1\n    model.eval()\n    total_loss, correct = 0.0, 0\n"),),
            lost={"evaluate": 2.5}, says=(("evaluate", "evaluate never called the model"),)),
]

VARIANTS += TRAINING_BY_EFFECT
